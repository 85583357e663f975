// STATE_DIR/node.lock: shared while running, exclusive to tear down. flock locks belong to the
// open file description, so two NodeLocks in one process behave as two processes would.
#include "node/node_lock.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

namespace holdfast::node {
namespace {

class NodeLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/holdfast-node-lock-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/" + kNodeLockFileName;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  NodeLock open() {
    auto lock = NodeLock::open(path_);
    EXPECT_TRUE(lock.has_value()) << (lock ? "" : lock.error().message);
    return std::move(*lock);
  }

  std::string dir_;
  std::string path_;
};

TEST_F(NodeLockTest, AnInstanceAloneGetsItExclusively) {
  NodeLock only = open();
  EXPECT_TRUE(only.try_exclusive());
}

TEST_F(NodeLockTest, ARunningInstanceKeepsAnotherFromTearingDown) {
  NodeLock running = open();
  ASSERT_TRUE(running.share().has_value());
  NodeLock exiting = open();
  ASSERT_TRUE(exiting.share().has_value());  // both run: a surge hand-over
  NodeLock fresh = open();                   // the exiting one asks on a fresh descriptor
  EXPECT_FALSE(fresh.try_exclusive());
}

TEST_F(NodeLockTest, TheLastInstanceOutTearsDown) {
  std::optional<NodeLock> other = open();
  ASSERT_TRUE(other->share().has_value());
  other.reset();  // its process ended (or was killed: the kernel drops the lock either way)
  NodeLock last = open();
  EXPECT_TRUE(last.try_exclusive());
}

TEST_F(NodeLockTest, ATeardownInProgressKeepsAStartingInstanceOutOfTheExclusiveLock) {
  NodeLock tearing_down = open();
  ASSERT_TRUE(tearing_down.try_exclusive());
  NodeLock starting = open();
  EXPECT_FALSE(starting.try_exclusive());
}

TEST_F(NodeLockTest, CreatesTheFileInTheStateDir) {
  std::filesystem::remove_all(dir_);  // a first start: the state dir does not exist yet
  NodeLock lock = open();
  EXPECT_TRUE(std::filesystem::exists(path_));
}

TEST(NodeLockOpen, NamesThePathWhenItCannotOpen) {
  auto lock = NodeLock::open("/proc/holdfast-no-such-dir/sub/node.lock");
  ASSERT_FALSE(lock.has_value());
  EXPECT_EQ(lock.error().message.rfind("cannot open '/proc/holdfast-no-such-dir/sub/node.lock'", 0),
            0u)
      << lock.error().message;
}

}  // namespace
}  // namespace holdfast::node
