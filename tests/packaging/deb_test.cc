// The Debian package: built by CPack from this build, with the system layout
// (/etc/herald as conffiles, /usr/lib/herald/plugins, the docs), stripped
// binaries, library dependencies found by dpkg-shlibdeps, and maintainer
// scripts that create the herald user and start the service.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "support/test_env.h"

namespace herald {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

TEST(DebianPackage, IsBuiltWithTheSystemLayout) {
  if (!fs::exists("/usr/bin/dpkg-deb")) GTEST_SKIP() << "dpkg-deb is not installed";
  test::TempDir dir;
  auto built = test::run_process(std::string(HERALD_CPACK_COMMAND) + " -G DEB -B " + dir.path() +
                                     " --config " + HERALD_TEST_BINARY_DIR + "/CPackConfig.cmake",
                                 300);
  ASSERT_EQ(built.exit_code, 0) << built.output;
  std::string deb;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    if (e.path().extension() == ".deb") deb = e.path().string();
  }
  ASSERT_FALSE(deb.empty()) << built.output;

  auto contents = test::run_process("dpkg-deb -c " + deb + " | awk '{print $6}'");
  ASSERT_EQ(contents.exit_code, 0) << contents.output;
  std::set<std::string> files;
  std::istringstream lines(contents.output);
  for (std::string line; std::getline(lines, line);) files.insert(line);
  for (const char* f :
       {"./usr/bin/heraldd", "./usr/bin/heraldctl", "./usr/lib/herald/plugins/rest.so",
        "./usr/lib/herald/plugins/json.so", "./usr/lib/herald/plugins/xml.so",
        "./usr/lib/herald/plugins/email.so", "./etc/herald/herald.toml", "./etc/herald/conf.d/README",
        "./etc/herald/mappings/RESTPersonAdded.xml", "./usr/include/herald/plugin.h",
        "./usr/lib/pkgconfig/herald-plugin.pc", "./usr/share/doc/herald/docs/operations.md"}) {
    EXPECT_TRUE(files.count(f)) << f << " is not in the package:\n" << contents.output;
  }
  for (const auto& f : files) {
    EXPECT_TRUE(f.starts_with("./usr/") || f.starts_with("./etc/herald/") || f == "./etc/" || f == "./")
        << "unexpected path in the package: " << f;
    EXPECT_EQ(f.find("_CPack_Packages"), std::string::npos) << f;
  }

  auto info = test::run_process("dpkg-deb -I " + deb);
  ASSERT_EQ(info.exit_code, 0) << info.output;
  EXPECT_THAT(info.output, HasSubstr("Package: herald"));
  EXPECT_THAT(info.output, HasSubstr("libcurl4"));    // from dpkg-shlibdeps
  EXPECT_THAT(info.output, HasSubstr("libsqlite3"));  // ditto
  EXPECT_THAT(info.output, HasSubstr("postinst"));
  auto conffiles = test::run_process("dpkg-deb -I " + deb + " conffiles");
  EXPECT_THAT(conffiles.output, HasSubstr("/etc/herald/herald.toml"));
  EXPECT_THAT(conffiles.output, HasSubstr("/etc/herald/mappings/RESTPersonAdded.xml"));
  auto postinst = test::run_process("dpkg-deb -I " + deb + " postinst");
  EXPECT_THAT(postinst.output, HasSubstr("adduser --system"));
  // Stripped: no debug sections in the packaged daemon.
  auto extracted = test::run_process("dpkg-deb -x " + deb + " " + dir.file("root") + " && readelf -S " +
                                     dir.file("root/usr/bin/heraldd") + " | grep -c debug_info || true");
  EXPECT_EQ(extracted.output.substr(0, 1), "0") << extracted.output;
  // The packaged configuration is valid as shipped.
  auto validate = test::run_process(dir.file("root/usr/bin/heraldctl") + " -c " +
                                    dir.file("root/etc/herald/herald.toml") + " validate 2>&1 || true");
  EXPECT_THAT(validate.output, ::testing::Not(HasSubstr("key '")));
}

}  // namespace
}  // namespace herald
