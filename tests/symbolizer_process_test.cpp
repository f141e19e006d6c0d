// Process addresses: a running PIE test program (our own child, so no
// privileges needed) is symbolized through /proc/PID/exe and its load bias.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "symbolizer/probe_sites.h"
#include "symbolizer/symbolizer.h"
#include "testprogs.h"

extern char** environ;

namespace goscope::sym {
namespace {

using goscope::testing::testprog;
using goscope::testing::toolchains;

// hello_probe with GOSCOPE_WAIT_STDIN=1 prints "FACT ready" and waits on stdin.
class WaitingChild {
 public:
  explicit WaitingChild(const std::string& path) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    setenv("GOSCOPE_WAIT_STDIN", "1", 1);
    char* argv[] = {const_cast<char*>(path.c_str()), nullptr};
    if (posix_spawn(&pid_, path.c_str(), &fa, nullptr, argv, environ) != 0) pid_ = -1;
    unsetenv("GOSCOPE_WAIT_STDIN");
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
    std::string seen;
    char buf[256];
    ssize_t n;
    while (pid_ > 0 && seen.find("FACT ready") == std::string::npos &&
           (n = read(stdout_, buf, sizeof buf)) > 0)
      seen.append(buf, static_cast<size_t>(n));
    ready_ = seen.find("FACT ready") != std::string::npos;
  }
  ~WaitingChild() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdin_ >= 0) close(stdin_);
    if (stdout_ >= 0) close(stdout_);
  }
  pid_t pid() const { return pid_; }
  bool ready() const { return ready_; }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1, stdout_ = -1;
  bool ready_ = false;
};

TEST(SymbolizerProcess, SymbolizesProcessAddressesOfARunningPie) {
  GS_REQUIRE_TESTPROGS();
  size_t checked = 0;
  for (const char* variant : {"pie-stripped", "default"}) {
    const std::string bin = testprog(toolchains().back().version, variant, "hello_probe");
    WaitingChild child(bin);
    ASSERT_TRUE(child.ready()) << bin;
    auto proc = ProcessImage::open(child.pid());
    ASSERT_TRUE(proc) << proc.error().message;
    EXPECT_EQ(proc->exe_path(), "/proc/" + std::to_string(child.pid()) + "/exe");
    EXPECT_EQ(std::filesystem::canonical(proc->exe_name()), std::filesystem::canonical(bin));
    auto b = GoBinary::open(proc->exe_path());
    ASSERT_TRUE(b) << b.error().message;
    const bool pie = std::string(variant).find("pie") != std::string::npos;
    if (pie) {
      EXPECT_NE(proc->load_bias(), 0u) << "a PIE is loaded at a random base";
    } else {
      EXPECT_EQ(proc->load_bias(), 0u);
    }
    const uint64_t gopark = *(*b)->function_address("runtime.gopark");
    const uint64_t addrs[] = {proc->to_process(gopark), proc->to_process(gopark) + 5, 8,
                              gopark + (pie ? 0 : 1ull << 46)};
    auto r = symbolize_process(**b, *proc, addrs);
    ASSERT_EQ(r.size(), 4u);
    ASSERT_FALSE(r[0].frames.empty());
    EXPECT_EQ(r[0].frames.back().function, "runtime.gopark");
    EXPECT_EQ(r[0].vaddr, gopark);
    EXPECT_EQ(r[1].frames.back().function, "runtime.gopark");
    EXPECT_EQ(r[2].unknown, Unknown::kNotInExecutable);
    EXPECT_EQ(r[3].unknown, Unknown::kNotInExecutable);
    // The process's own memory at that address holds the function's first bytes.
    const auto want = (*b)->elf().vaddr_bytes(gopark, 4);
    ASSERT_EQ(want.size(), 4u);
    std::FILE* mem = std::fopen(("/proc/" + std::to_string(child.pid()) + "/mem").c_str(), "rb");
    if (mem) {
      uint8_t got[4] = {};
      if (fseeko(mem, static_cast<off_t>(proc->to_process(gopark)), SEEK_SET) == 0 &&
          fread(got, 1, 4, mem) == 4) {
        EXPECT_EQ(std::memcmp(got, want.data(), 4), 0);
      }
      std::fclose(mem);
    }
    checked++;
  }
  if (checked == 0) GS_SKIP_OR_FAIL() << "hello_probe not built";
}

TEST(SymbolizerProcess, NoSuchPidIsAClearError) {
  auto p = ProcessImage::open(0x3fffffff);
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("no process with PID"), std::string::npos) << p.error().message;
}

}  // namespace
}  // namespace goscope::sym
