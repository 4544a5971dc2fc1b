#include "state/state_worker.h"

#include <pthread.h>

namespace herald::state {

StateWorker::StateWorker(boost::asio::io_context& io, StateStore store)
    : io_(io), store_(std::move(store)), thread_([this] { run(); }) {}

StateWorker::~StateWorker() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    alive_.reset();  // what still runs hands its result to no one
  }
  wake_.notify_one();
  thread_.join();
}

void StateWorker::enqueue(Task task, Priority priority) {
  {
    std::lock_guard lock(mutex_);
    (priority == Priority::Urgent ? urgent_ : queue_).push_back(std::move(task));
  }
  wake_.notify_one();
}

void StateWorker::wait_idle() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return queue_.empty() && urgent_.empty() && !busy_; });
}

void StateWorker::run() {
  // Named for top -H, perf and the benchmark's CPU per thread.
  pthread_setname_np(pthread_self(), "state-worker");
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stop_ || !queue_.empty() || !urgent_.empty(); });
    if (queue_.empty() && urgent_.empty()) return;  // stopping, and all done
    auto& from = urgent_.empty() ? queue_ : urgent_;
    Task task = std::move(from.front());
    from.pop_front();
    busy_ = true;
    lock.unlock();
    task(store_);
    lock.lock();
    busy_ = false;
    if (queue_.empty() && urgent_.empty()) idle_.notify_all();
  }
}

}  // namespace herald::state
