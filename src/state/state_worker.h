// A thread of its own for the state database's work on the delivery path
// (ingest transactions, claims, attempt results), with its own connection,
// so that SQLite's work and its disk flushes run on one core while the event
// loop renders and talks HTTP on the other.
//
// Jobs run one at a time in the order they were posted; each one's result
// is handed back to the event loop. Jobs see only what they are given: never
// the daemon's members.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "state/state_store.h"

namespace herald::state {

class StateWorker {
 public:
  StateWorker(boost::asio::io_context& io, StateStore store);
  ~StateWorker();  // runs what is queued, then joins
  StateWorker(const StateWorker&) = delete;
  StateWorker& operator=(const StateWorker&) = delete;

  // Runs job(store) on the worker, then done(result) on the event loop,
  // unless the worker is gone by then. An urgent job runs before the ones
  // that are not (after the urgent ones already waiting): for work the loop
  // waits on, such as claims, behind bulk writes that nothing waits on.
  enum class Priority { Normal, Urgent };
  template <typename Job, typename Done>
  void post(Job job, Done done, Priority priority = Priority::Normal) {
    std::weak_ptr<int> alive = alive_;  // read here, on the loop's thread
    // The loop keeps running (io_context::run does not return) while a job
    // is out: its result is work still to come.
    auto work = std::make_shared<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
        io_.get_executor());
    enqueue(
        [this, alive, work, job = std::move(job), done = std::move(done)](StateStore& store) mutable {
          auto result = std::make_shared<decltype(job(store))>(job(store));
          boost::asio::post(io_, [done = std::move(done), result, alive]() mutable {
            if (!alive.expired()) done(std::move(*result));
          });
          work->reset();
        },
        priority);
  }

  // Blocks until every job posted so far has run (their `done` may still be
  // waiting in the event loop).
  void wait_idle();

 private:
  using Task = std::function<void(StateStore&)>;
  void enqueue(Task task, Priority priority);
  void run();

  boost::asio::io_context& io_;
  StateStore store_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Task> queue_;
  std::deque<Task> urgent_;
  bool busy_ = false;
  bool stop_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // expires with the worker
  std::thread thread_;                                     // last: starts once the rest is ready
};

}  // namespace herald::state
