// Files goscope writes (common/user_files.h): never through a link planted in the
// last component, never over a file with other names, whole files appear at once,
// and folders are used only when they are fresh or private. The sudo identity switch
// is exercised end to end by vmtests/cases_files.py (it needs root and a user).
#include "common/user_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace goscope {
namespace {

namespace fs = std::filesystem;

class UserFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/goscope-user-files-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir = tmpl;
    unsetenv("SUDO_UID");
    unsetenv("SUDO_GID");
  }
  void TearDown() override { fs::remove_all(dir); }
  static std::string read(const fs::path& p) {
    std::ifstream f(p);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
  // out.gst is made another name of a file someone else wants kept (`link(victim, out)`):
  // opening out.gst for writing is refused, saying `why`, and the file is untouched.
  void expect_refused_over_victim(void (*link)(const fs::path&, const fs::path&), const std::string& why) {
    write(dir / "victim", "keep me");
    link(dir / "victim", dir / "out.gst");
    auto fd = open_user_file((dir / "out.gst").string());
    ASSERT_FALSE(fd);
    EXPECT_NE(fd.error().message.find(why), std::string::npos) << fd.error().message;
    EXPECT_EQ(read(dir / "victim"), "keep me");
  }
  fs::path dir;
};

TEST_F(UserFiles, NeverWritesThroughASymbolicLink) {
  expect_refused_over_victim(fs::create_symlink, "symbolic link");
  // A whole-file write replaces the link itself, never its target.
  ASSERT_TRUE(write_user_file((dir / "out.gst").string(), "new"));
  EXPECT_EQ(read(dir / "victim"), "keep me");
  EXPECT_FALSE(fs::is_symlink(dir / "out.gst"));
  EXPECT_EQ(read(dir / "out.gst"), "new");
}

TEST_F(UserFiles, NeverTruncatesAFileWithOtherNames) {
  expect_refused_over_victim(fs::create_hard_link, "hard links");
}

TEST_F(UserFiles, StreamReplacesAnOwnFileAndWritesDevices) {
  write(dir / "out.gst", "old content that is longer");
  {
    auto f = open_user_stream((dir / "out.gst").string());
    ASSERT_TRUE(f);
    std::fputs("new", f->get());
  }
  EXPECT_EQ(read(dir / "out.gst"), "new");
  auto null = open_user_file("/dev/null");
  ASSERT_TRUE(null);
  EXPECT_TRUE(write_user_file("/dev/null", "x"));
  EXPECT_FALSE(open_user_file(dir.string()));  // a folder
}

TEST_F(UserFiles, WholeFilesAppearAtOnceAndFailuresLeaveNothing) {
  write(dir / "report.html", "the old report");
  {
    auto f = AtomicUserFile::create((dir / "report.html").string());
    ASSERT_TRUE(f);
    std::fputs("half of a new re", f->stream());
    std::fflush(f->stream());
    EXPECT_EQ(read(dir / "report.html"), "the old report");  // not yet
    // Dropped without commit (an error on the way): the old file stays, no temporary is left.
  }
  EXPECT_EQ(read(dir / "report.html"), "the old report");
  EXPECT_EQ(names(), std::vector<std::string>{"report.html"});
  auto f = AtomicUserFile::create((dir / "report.html").string());
  ASSERT_TRUE(f);
  std::fputs("the new report", f->stream());
  ASSERT_TRUE(f->commit());
  EXPECT_EQ(read(dir / "report.html"), "the new report");
  EXPECT_EQ(names(), std::vector<std::string>{"report.html"});
  // A folder in the way is an error, and leaves nothing behind either.
  fs::create_directory(dir / "taken");
  EXPECT_FALSE(write_user_file((dir / "taken").string(), "x"));
  EXPECT_EQ(names(), (std::vector<std::string>{"report.html", "taken"}));
  EXPECT_FALSE(write_user_file((dir / "no" / "such" / "x").string(), "x"));
}

TEST_F(UserFiles, FoldersAreFreshOrPrivate) {
  EXPECT_TRUE(make_user_dir((dir / "new").string()));
  EXPECT_TRUE(make_user_dir((dir / "new").string()));  // ours, private: fine
  chmod((dir / "new").c_str(), 0777);
  auto shared = make_user_dir((dir / "new").string());
  ASSERT_FALSE(shared);
  EXPECT_NE(shared.error().message.find("others can write"), std::string::npos) << shared.error().message;
  fs::create_directory_symlink(dir / "new", dir / "link");
  EXPECT_FALSE(make_user_dir((dir / "link").string()));
  write(dir / "file", "");
  EXPECT_FALSE(make_user_dir((dir / "file").string()));
  if (geteuid() == 0) {
    fs::create_directory(dir / "theirs");
    ASSERT_EQ(chown((dir / "theirs").c_str(), 65534, 65534), 0);
    auto theirs = make_user_dir((dir / "theirs").string());
    ASSERT_FALSE(theirs);
    EXPECT_NE(theirs.error().message.find("another user"), std::string::npos) << theirs.error().message;
  }
}

TEST_F(UserFiles, SameFileSeesThroughOtherNames) {
  write(dir / "a", "x");
  fs::create_symlink(dir / "a", dir / "b");
  EXPECT_TRUE(same_file((dir / "a").string(), (dir / "b").string()));
  EXPECT_TRUE(same_file((dir / "a").string(), (dir / "." / "a").string()));
  EXPECT_FALSE(same_file((dir / "a").string(), (dir / "c").string()));
}

}  // namespace
}  // namespace goscope
