#include "output.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "exit_codes.h"

namespace hubstats::cli {
namespace {

namespace fs = std::filesystem;

class WriteOutput : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hubstats-cli-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  static std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::size_t entries() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir_), {}));
  }
  fs::path dir_;
};

TEST_F(WriteOutput, DashGoesToStdoutStream) {
  std::ostringstream out;
  write_output("-", "a,b\n", out);
  EXPECT_EQ(out.str(), "a,b\n");
  EXPECT_EQ(entries(), 0u);
}

TEST_F(WriteOutput, ReplacesFileAndLeavesNoTemp) {
  std::ostringstream out;
  auto target = dir_ / "stats.csv";
  { std::ofstream(target) << "old contents that are longer\n"; }
  write_output(target.string(), "new\n", out);
  EXPECT_EQ(slurp(target), "new\n");
  EXPECT_EQ(entries(), 1u);
  EXPECT_EQ(out.str(), "");
}

TEST_F(WriteOutput, HonoursUmask) {
  std::ostringstream out;
  mode_t old = ::umask(027);
  write_output((dir_ / "f.csv").string(), "x", out);
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "f.csv").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
}

TEST_F(WriteOutput, MissingDirectoryIsBadArgumentAndLeavesNothing) {
  std::ostringstream out;
  try {
    write_output((dir_ / "nope" / "f.csv").string(), "x", out);
    FAIL();
  } catch (const CliError& e) {
    EXPECT_EQ(e.code(), ExitCode::kBadArgument);
    EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos);
  }
  EXPECT_EQ(entries(), 0u);
}

TEST_F(WriteOutput, DirectoryTargetFailsWithoutTempLeftBehind) {
  std::ostringstream out;
  fs::create_directory(dir_ / "sub");
  EXPECT_THROW(write_output((dir_ / "sub").string(), "x", out), CliError);
  EXPECT_EQ(entries(), 1u);  // only "sub"
}

}  // namespace
}  // namespace hubstats::cli
