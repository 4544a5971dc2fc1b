// The installed plugin SDK, used as a third party would: install this build
// into a private prefix, build examples/plugin against it (CMake package and
// pkg-config), and deliver through the installed heraldd loading that plugin.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "support/daemon_fixture.h"
#include "tools/http_sink.h"

namespace herald {
namespace {

namespace fs = std::filesystem;
using test::run_process;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kSecret = "s3cret-token";

std::string sh_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

class SdkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = dir_.file("prefix");
    auto installed = run_script(std::string(HERALD_CMAKE_COMMAND) + " --install " +
                                sh_quote(HERALD_TEST_BINARY_DIR) + " --prefix " + sh_quote(prefix_) + "\n");
    ASSERT_EQ(installed.exit_code, 0) << installed.output;
  }

  // Runs a shell script in a clean build environment: flags from the caller
  // (e.g. a sanitizer build's) must not leak into the third-party build.
  test::ProcessResult run_script(const std::string& body, int timeout_seconds = 120) {
    std::string path = dir_.file("step" + std::to_string(++steps_) + ".sh");
    test::write_file(path,
                     "set -eu\nunset CFLAGS CXXFLAGS CPPFLAGS LDFLAGS MAKEFLAGS CMAKE_PREFIX_PATH "
                     "PKG_CONFIG_LIBDIR\n" +
                         body);
    return run_process("sh " + sh_quote(path), timeout_seconds);
  }

  std::string lib(const std::string& rest) const {
    return prefix_ + "/" + HERALD_INSTALL_LIBDIR + (rest.empty() ? "" : "/" + rest);
  }
  std::string pkg_config_env() const { return "export PKG_CONFIG_PATH=" + sh_quote(lib("pkgconfig")) + "\n"; }

  // A producer database, mapping and config sending "Person Added" to the
  // sink through the webhook channel found in plugin_dir.
  static std::string write_webhook_config(const test::TempDir& where, const std::string& sink_url,
                                          const std::string& plugin_dir,
                                          const std::string& extra_endpoint_keys = "") {
    test::Scenario s;
    s.sink_url = sink_url;
    s.plugin_dir = plugin_dir;
    std::string cfg = test::write_scenario(where, s);
    std::string toml = test::read_file(cfg);
    const std::string rest = "channel = \"rest\"\n";
    auto at = toml.find(rest);
    EXPECT_NE(at, std::string::npos) << toml;
    if (at == std::string::npos) return cfg;
    toml.replace(at, rest.size(),
                 "channel = \"webhook\"\nsecret = \"" + std::string(kSecret) + "\"\n" + extra_endpoint_keys);
    test::write_file(cfg, toml);
    return cfg;
  }

  std::string installed(const std::string& program) const {
    return prefix_ + "/" + HERALD_INSTALL_BINDIR + "/" + program;
  }

  test::ProcessResult emit(const std::string& cfg, const std::string& person) {
    return run_process(installed("heraldctl") + " -c " + cfg +
                       " emit --entity identity --action CREATE --name 'REST Person Added' --key PersonID=" +
                       person + " --new '{\"firstName\":\"Ada\"}'");
  }

  // The installed heraldd loads the plugin from plugin_dir and delivers one
  // event to a real HTTP server, which sees the webhook's request.
  void expect_webhook_delivers(const std::string& plugin_dir) {
    tools::ThreadedHttpSink sink;
    test::TempDir run;
    std::string cfg = write_webhook_config(run, sink.url(), plugin_dir);
    auto emitted = emit(cfg, "P-42");
    ASSERT_EQ(emitted.exit_code, 0) << emitted.output;
    auto drained = run_process(installed("heraldd") + " --config " + cfg + " --drain", 60);
    ASSERT_EQ(drained.exit_code, 0) << drained.output;

    auto reqs = sink.requests();
    ASSERT_EQ(reqs.size(), 1u) << drained.output;
    EXPECT_EQ(reqs[0].method, "POST");  // whatever the mapping's verb (PUT here)
    EXPECT_EQ(reqs[0].target, "/api/people/P-42/added");
    EXPECT_EQ(reqs[0].header("Content-Type"), "application/json");
    EXPECT_EQ(reqs[0].header("X-Webhook-Secret"), kSecret);
    EXPECT_FALSE(reqs[0].header("X-Herald-Message-Id").empty());
    auto body = nlohmann::json::parse(reqs[0].body);
    EXPECT_EQ(body["person"]["id"], "P-42");
    EXPECT_EQ(body["person"]["name"]["first"], "Ada");

    auto status = run_process(installed("heraldctl") + " -c " + cfg + " status --json");
    ASSERT_EQ(status.exit_code, 0) << status.output;
    EXPECT_EQ(nlohmann::json::parse(status.output)["delivered"], 1) << status.output;
  }

  test::TempDir dir_;
  std::string prefix_;
  int steps_ = 0;
};

TEST_F(SdkTest, InstallLaysOutProgramsPluginsSdkAndData) {
  std::set<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(prefix_)) {
    if (!e.is_directory()) files.insert(fs::relative(e.path(), prefix_).string());
  }
  const std::string libdir = HERALD_INSTALL_LIBDIR, data = HERALD_INSTALL_DATADIR,
                    doc = HERALD_INSTALL_DOCDIR;
  std::string bin = HERALD_INSTALL_BINDIR;
  std::vector<std::string> expected = {
      bin + "/heraldd",
      bin + "/heraldctl",
      std::string(HERALD_INSTALL_INCLUDEDIR) + "/herald/plugin.h",
      libdir + "/herald/plugins/rest.so",
      libdir + "/cmake/Herald/HeraldConfig.cmake",
      libdir + "/cmake/Herald/HeraldConfigVersion.cmake",
      libdir + "/cmake/Herald/HeraldTargets.cmake",
      libdir + "/cmake/Herald/HeraldPlugin.cmake",
      libdir + "/pkgconfig/herald-plugin.pc",
      doc + "/README.md",
      doc + "/LICENSE",
      doc + "/docs/plugins.md",
      doc + "/examples/plugin/CMakeLists.txt",
      doc + "/examples/plugin/webhook.c",
      doc + "/examples/plugin/README.md",
      "lib/systemd/system/herald.service",
      "lib/sysusers.d/herald.conf",
  };
  for (const auto& e : fs::directory_iterator(std::string(HERALD_SOURCE_DIR) + "/mappings")) {
    if (e.path().extension() == ".xml")
      expected.push_back(data + "/herald/mappings/" + e.path().filename().string());
  }
  std::string listing;
  for (const auto& f : files) listing += f + "\n";
  for (const auto& f : expected) EXPECT_TRUE(files.count(f)) << f << " missing; installed:\n" << listing;
  EXPECT_EQ(fs::status(installed("heraldd")).permissions() & fs::perms::owner_exec, fs::perms::owner_exec);
  // Nothing else from the build (test fixtures, gtest, objects) is installed.
  for (const auto& f : files) {
    EXPECT_TRUE(f.starts_with(bin + "/herald") ||
                f.starts_with(std::string(HERALD_INSTALL_INCLUDEDIR) + "/herald/") ||
                f.starts_with(libdir + "/herald/plugins/") || f.starts_with(libdir + "/cmake/Herald/") ||
                f == libdir + "/pkgconfig/herald-plugin.pc" || f.starts_with(data + "/herald/mappings/") ||
                f.starts_with(doc + "/") || f.starts_with("etc/herald/") ||
                f == "lib/systemd/system/herald.service" || f == "lib/sysusers.d/herald.conf")
        << "unexpected installed file " << f;
  }
  // The unit starts the heraldd of this prefix.
  EXPECT_THAT(test::read_file(prefix_ + "/lib/systemd/system/herald.service"),
              HasSubstr("\nExecStart=" + installed("heraldd") + " --config /etc/herald/herald.toml\n"));

  // pkg-config: version is the ABI's, paths follow the prefix it was installed to.
  auto pc = run_script(pkg_config_env() +
                       "pkg-config --modversion herald-plugin\npkg-config --cflags herald-plugin\n"
                       "pkg-config --variable=plugindir herald-plugin\n");
  ASSERT_EQ(pc.exit_code, 0) << pc.output;
  EXPECT_THAT(pc.output, StartsWith(std::string(HERALD_TEST_ABI_VERSION) + "\n"));
  std::istringstream in(pc.output);
  std::string version, cflags, plugindir;
  std::getline(in, version);
  std::getline(in, cflags);
  std::getline(in, plugindir);
  ASSERT_THAT(cflags, StartsWith("-I"));
  std::string incdir = cflags.substr(2, cflags.find_last_not_of(' ') - 1);
  EXPECT_TRUE(fs::equivalent(incdir, prefix_ + "/" + HERALD_INSTALL_INCLUDEDIR)) << cflags;
  EXPECT_TRUE(fs::equivalent(plugindir, lib("herald/plugins"))) << plugindir;

  // find_package: the version is the ABI's; another major is refused.
  std::string probe = dir_.file("probe");
  fs::create_directories(probe);
  test::write_file(probe + "/CMakeLists.txt",
                   "cmake_minimum_required(VERSION 3.16)\nproject(probe LANGUAGES NONE)\n"
                   "find_package(Herald ${WANT} REQUIRED)\n"
                   "get_target_property(inc Herald::plugin_sdk INTERFACE_INCLUDE_DIRECTORIES)\n"
                   "message(STATUS \"abi=${HERALD_ABI_MAJOR}.${HERALD_ABI_MINOR} inc=${inc} "
                   "plugins=${HERALD_PLUGIN_INSTALL_DIR}\")\n");
  auto ok =
      run_script(std::string(HERALD_CMAKE_COMMAND) + " -S " + sh_quote(probe) + " -B " +
                 sh_quote(probe + "/b1") + " -DWANT=1.0 -DCMAKE_PREFIX_PATH=" + sh_quote(prefix_) + "\n");
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_THAT(ok.output, HasSubstr(std::string("abi=") + HERALD_TEST_ABI_VERSION + " inc=" + prefix_ + "/" +
                                   HERALD_INSTALL_INCLUDEDIR + " plugins=" + lib("herald/plugins")));
  auto other_major =
      run_script(std::string(HERALD_CMAKE_COMMAND) + " -S " + sh_quote(probe) + " -B " +
                 sh_quote(probe + "/b2") + " -DWANT=2.0 -DCMAKE_PREFIX_PATH=" + sh_quote(prefix_) + "\n");
  EXPECT_NE(other_major.exit_code, 0) << other_major.output;
  EXPECT_THAT(other_major.output,
              HasSubstr(std::string("HeraldConfig.cmake, version: ") + HERALD_TEST_ABI_VERSION));
}

TEST_F(SdkTest, ExamplePluginBuiltWithFindPackageIsLoadedAndDeliversThroughInstalledHeraldd) {
  std::string build = dir_.file("example-build");
  auto built = run_script(
      std::string(HERALD_CMAKE_COMMAND) + " -S " +
      sh_quote(std::string(HERALD_SOURCE_DIR) + "/examples/plugin") + " -B " + sh_quote(build) + " -G " +
      sh_quote(HERALD_CMAKE_GENERATOR) + " -DCMAKE_C_COMPILER=" + sh_quote(HERALD_C_COMPILER) +
      " -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS=-Werror" + " -DCMAKE_PREFIX_PATH=" + sh_quote(prefix_) +
      "\n" + HERALD_CMAKE_COMMAND + " --build " + sh_quote(build) + "\n");
  ASSERT_EQ(built.exit_code, 0) << built.output;
  // Found in our prefix, not in some Herald installed on the machine.
  EXPECT_THAT(test::read_file(build + "/CMakeCache.txt"),
              HasSubstr("Herald_DIR:PATH=" + lib("cmake/Herald")));
  ASSERT_TRUE(fs::exists(build + "/webhook.so")) << built.output;

  // Visibility hidden: the entry point is the only symbol the plugin exports.
  auto syms = run_script("nm -D --defined-only " + sh_quote(build + "/webhook.so") + "\n");
  ASSERT_EQ(syms.exit_code, 0) << syms.output;
  EXPECT_THAT(syms.output, HasSubstr(" T herald_plugin_entry"));
  EXPECT_THAT(syms.output, ::testing::Not(HasSubstr("endpoint_open")));

  expect_webhook_delivers(build);
}

TEST_F(SdkTest, ExamplePluginBuiltWithThePkgConfigLineRefusesUnknownSettingsAndClassifies) {
  std::string out = dir_.file("pc-build");
  fs::create_directories(out);
  auto built = run_script(pkg_config_env() + sh_quote(HERALD_C_COMPILER) +
                          " -std=c11 -Wall -Wextra -Wpedantic -Werror -shared -fPIC -fvisibility=hidden"
                          " $(pkg-config --cflags herald-plugin) -o " +
                          sh_quote(out + "/webhook.so") + " " +
                          sh_quote(std::string(HERALD_SOURCE_DIR) + "/examples/plugin/webhook.c") +
                          " -Wl,--no-undefined\n");
  ASSERT_EQ(built.exit_code, 0) << built.output;

  expect_webhook_delivers(out);

  // A misspelt key stops the configuration loading, naming the key.
  test::TempDir bad;
  std::string bad_cfg = write_webhook_config(bad, "http://127.0.0.1:9", out, "colour = \"red\"\n");
  auto refused = run_process(installed("heraldctl") + " -c " + bad_cfg + " validate");
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_THAT(refused.output, HasSubstr("unknown setting 'colour' for the webhook channel"));

  // 404 is permanent, with the plugin's reason kept; the next one is delivered.
  tools::SinkOptions opts;
  opts.statuses = {404};
  tools::ThreadedHttpSink sink(opts);
  test::TempDir run;
  std::string cfg = write_webhook_config(run, sink.url(), out);
  ASSERT_EQ(emit(cfg, "P-1").exit_code, 0);
  ASSERT_EQ(emit(cfg, "P-2").exit_code, 0);
  auto drained = run_process(installed("heraldd") + " --config " + cfg + " --drain", 60);
  ASSERT_EQ(drained.exit_code, 0) << drained.output;
  EXPECT_EQ(sink.request_count(), 2u);
  auto status =
      nlohmann::json::parse(run_process(installed("heraldctl") + " -c " + cfg + " status --json").output);
  EXPECT_EQ(status["delivered"], 1) << status.dump();
  EXPECT_EQ(status["failed"], 1) << status.dump();
  auto failed = run_process(installed("heraldctl") + " -c " + cfg + " list --state failed --json");
  ASSERT_EQ(failed.exit_code, 0) << failed.output;
  auto rows = nlohmann::json::parse(failed.output);
  ASSERT_EQ(rows.size(), 1u) << failed.output;
  auto shown = run_process(installed("heraldctl") + " -c " + cfg + " show " + rows[0]["id"].dump());
  EXPECT_THAT(shown.output, HasSubstr("the webhook answered HTTP 404"));
}

}  // namespace
}  // namespace herald
