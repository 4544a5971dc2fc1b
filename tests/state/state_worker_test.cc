#include "state/state_worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "support/test_env.h"

namespace herald::state {
namespace {

class StateWorkerTest : public ::testing::Test {
 protected:
  StateStore open() {
    auto s = StateStore::open(dir_.file("state.db"));
    EXPECT_TRUE(s) << s.error().message;
    return std::move(s.value());
  }
  test::TempDir dir_;
  boost::asio::io_context io_;
};

TEST_F(StateWorkerTest, RunsJobsInOrderOffTheLoopAndReportsOnIt) {
  StateWorker worker(io_, open());
  const auto loop_thread = std::this_thread::get_id();
  std::vector<int> order;
  std::vector<std::thread::id> job_threads;
  std::vector<std::thread::id> done_threads;
  for (int i = 0; i < 20; ++i) {
    worker.post(
        [i, &job_threads](StateStore&) {
          job_threads.push_back(std::this_thread::get_id());
          return i;
        },
        [&](int n) {
          order.push_back(n);
          done_threads.push_back(std::this_thread::get_id());
        });
  }
  worker.wait_idle();
  EXPECT_TRUE(order.empty());  // results wait for the loop
  io_.run();
  ASSERT_EQ(order.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(order[i], i);
  for (auto id : job_threads) EXPECT_NE(id, loop_thread);
  for (auto id : done_threads) EXPECT_EQ(id, loop_thread);
}

TEST_F(StateWorkerTest, JobsUseTheWorkersOwnConnection) {
  StateStore reader = open();
  StateWorker worker(io_, open());
  IngestItem item;
  item.event.id = 7;
  item.event.entity = "identity";
  item.event.action = "CREATE";
  item.targets.emplace_back("n", "ep");
  std::optional<int64_t> created;
  worker.post([item](StateStore& s) { return s.ingest("outbox", 7, {item}, 1000); },
              [&](const Result<int64_t>& r) { created = r ? r.value() : -1; });
  io_.run();
  ASSERT_EQ(created, 1);
  // Committed: another connection sees it.
  EXPECT_EQ(reader.cursor("outbox").value(), 7);
  EXPECT_EQ(reader.count_in(State::Pending).value(), 1);
}

TEST_F(StateWorkerTest, ResultsOfJobsLeftAtDestructionGoNowhere) {
  std::atomic<int> ran{0};
  int reported = 0;
  {
    StateWorker worker(io_, open());
    for (int i = 0; i < 5; ++i) {
      worker.post(
          [&ran](StateStore&) {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
            return ++ran;
          },
          [&reported](int) { ++reported; });
    }
  }
  EXPECT_EQ(ran.load(), 5);  // everything queued still ran
  io_.run();
  EXPECT_EQ(reported, 0);  // and reported to no one
}

}  // namespace
}  // namespace herald::state
