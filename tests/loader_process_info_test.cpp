// What loader/process_info.h reads from /proc, on the test's own process and on
// children it makes exit: a live one, a zombie, a reaped one. No root needed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "loader/process_info.h"

namespace goscope::loader {
namespace {

std::string self_exe() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// A child that exits at once and is left unreaped: a zombie once the kernel says so.
pid_t zombie() {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  for (int i = 0; i < 500; i++) {
    siginfo_t info{};
    if (waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pid;
}

TEST(LoaderProcessInfo, TheTestsOwnProcess) {
  const pid_t self = getpid();
  EXPECT_EQ(exe_path(self), "/proc/" + std::to_string(self) + "/exe");
  auto link = exe_link(self);
  ASSERT_TRUE(link) << link.error().message;
  EXPECT_EQ(*link, self_exe());
  auto shown = exe_display_path(self);
  ASSERT_TRUE(shown);
  EXPECT_EQ(*shown, self_exe());  // the same file under that name here

  auto program = running_program(self);
  ASSERT_TRUE(program);
  struct stat st {};
  ASSERT_EQ(stat(self_exe().c_str(), &st), 0);
  EXPECT_EQ(*program, (FileIdentity{st.st_dev, st.st_ino}));

  const std::string args = cmdline(self);
  EXPECT_NE(args.find("goscope_unit_tests"), std::string::npos) << args;
  EXPECT_EQ(args.find('\0'), std::string::npos);
  EXPECT_NE(args.back(), ' ');

  EXPECT_FALSE(owned_by_other_user(self));
  EXPECT_FALSE(gone(self));
}

TEST(LoaderProcessInfo, AZombieIsGoneThenAReapedOneToo) {
  const pid_t pid = zombie();
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(gone(pid));
  EXPECT_EQ(cmdline(pid), "");
  EXPECT_FALSE(running_program(pid));
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(gone(pid));
  EXPECT_FALSE(exe_link(pid));
  EXPECT_FALSE(exe_display_path(pid));
  EXPECT_FALSE(owned_by_other_user(pid));  // cannot be told: not someone else's
}

TEST(LoaderProcessInfo, PidOneIsOwnedByWhoeverRunsIt) {
  struct stat st {};
  ASSERT_EQ(stat("/proc/1", &st), 0);
  EXPECT_EQ(owned_by_other_user(1), st.st_uid != geteuid());  // root's, unless in a container of one user
  EXPECT_FALSE(gone(1));
}

}  // namespace
}  // namespace goscope::loader
