#include "rules/lua_sandbox.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <lua.hpp>

#include <string>

#include "support/test_env.h"

namespace herald::rules {
namespace {

using json = nlohmann::json;
using test::TempDir;
using test::write_file;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

Event sample_event() {
  Event e;
  e.id = 17;
  e.entity = "identity";
  e.action = "UPDATE";
  e.name = "REST Person Edited";
  e.keys = {{"PersonID", 3}};
  e.old_values = {{"email", "zoe@old.example.com"}, {"enabled", true}, {"eav", {{"badgeColour", "blue"}}}};
  e.new_values = {{"email", "zoe.achterberg@example.com"},
                  {"enabled", false},
                  {"eav", {{"badgeColour", "green"}, {"floor", 3}}}};
  e.occurred_at = "2025-03-04T10:00:00.000Z";
  return e;
}

class LuaSandboxTest : public ::testing::Test {
 protected:
  std::unique_ptr<Script> load(const std::string& name, const std::string& source, ScriptLimits limits = {}) {
    const std::string path = dir_.file(name);
    write_file(path, source);
    auto s = Script::load(path, limits);
    EXPECT_TRUE(s) << (s ? "" : s.error().message);
    return s ? std::move(s).value() : nullptr;
  }
  std::string load_error(const std::string& name, const std::string& source, ScriptLimits limits = {}) {
    write_file(dir_.file(name), source);
    auto s = Script::load(dir_.file(name), limits);
    EXPECT_FALSE(s);
    return s ? std::string() : s.error().message;
  }
  std::string rule_error(Script& s, const Event& e = sample_event()) {
    auto r = s.evaluate_rule(e);
    EXPECT_FALSE(r);
    return r ? std::string() : r.error().message;
  }
  bool rule_value(Script& s, const Event& e = sample_event()) {
    auto r = s.evaluate_rule(e);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r && *r;
  }

  TempDir dir_;
};

TEST_F(LuaSandboxTest, ReturnsTrueOrFalse) {
  auto s = load("disabled.lua", "return old.enabled == true and new.enabled == false\n");
  ASSERT_TRUE(s);
  EXPECT_TRUE(rule_value(*s));
  Event e = sample_event();
  e.new_values["enabled"] = true;
  EXPECT_FALSE(rule_value(*s, e));
  EXPECT_EQ(s->path(), dir_.file("disabled.lua"));
}

TEST_F(LuaSandboxTest, SeesTheEvent) {
  auto s = load("event.lua", R"(
assert(old.email == "zoe@old.example.com", "old.email")
assert(new.email == "zoe.achterberg@example.com", "new.email")
assert(old.eav == nil and new.eav == nil, "eav is not in old/new")
assert(oldEavs.badgeColour == "blue" and newEavs.badgeColour == "green", "eavs")
assert(math.type(newEavs.floor) == "integer" and newEavs.floor == 3, "integers stay integers")
assert(entity.type == "identity" and entity.action == "UPDATE", "entity")
assert(entity.name == "REST Person Edited" and entity.id == 17, "name and id")
assert(entity.keys.PersonID == 3, "keys")
assert(entity.occurred_at == "2025-03-04T10:00:00.000Z", "occurred_at")
return true
)");
  ASSERT_TRUE(s);
  EXPECT_TRUE(rule_value(*s));
}

TEST_F(LuaSandboxTest, MissingSidesAreEmptyTables) {
  auto s = load("create.lua", R"(
return next(old) == nil and next(oldEavs) == nil and new.firstName == "Zoë"
  and next(newEavs) == nil and entity.action == "CREATE" and entity.name == nil
)");
  ASSERT_TRUE(s);
  Event e;
  e.entity = "identity";
  e.action = "CREATE";
  e.new_values = {{"firstName", "Zoë"}};
  EXPECT_TRUE(rule_value(*s, e));
}

TEST_F(LuaSandboxTest, ConvertsJson) {
  auto s = load("json.lua", R"(
local v = new
assert(#v.list == 3 and v.list[1] == "a" and v.list[3] == 3.5, "arrays are sequences")
assert(v.nested.inner.deep == true, "objects are tables")
assert(v.gone == nil, "null is nil")
assert(v.holes[1] == 1 and v.holes[2] == nil and v.holes[3] == 3, "null in an array is a hole")
assert(math.type(v.big) == "float", "unsigned beyond int64 is a float")
assert(v.neg == -5 and math.type(v.neg) == "integer", "negative integers")
return true
)");
  ASSERT_TRUE(s);
  Event e = sample_event();
  e.new_values = {{"list", {"a", "b", 3.5}},  {"nested", {{"inner", {{"deep", true}}}}}, {"gone", nullptr},
                  {"holes", {1, nullptr, 3}}, {"big", 18446744073709551615ULL},          {"neg", -5}};
  EXPECT_TRUE(rule_value(*s, e));
}

TEST_F(LuaSandboxTest, NonBooleanResultIsAnError) {
  auto s = load("string.lua", "local x = 1\nreturn \"yes\"\n");
  ASSERT_TRUE(s);
  std::string err = rule_error(*s);
  EXPECT_THAT(err, StartsWith(dir_.file("string.lua") + ":2: "));
  EXPECT_THAT(err, HasSubstr("must return a boolean"));
  EXPECT_THAT(err, HasSubstr("string \"yes\""));

  auto none = load("none.lua", "local x = 1\n");
  ASSERT_TRUE(none);
  EXPECT_THAT(rule_error(*none), HasSubstr("must return a boolean (true or false), got nil"));

  auto number = load("number.lua", "return 1");
  ASSERT_TRUE(number);
  EXPECT_THAT(rule_error(*number), HasSubstr("got number 1"));
}

TEST_F(LuaSandboxTest, RuntimeErrorNamesFileAndLine) {
  auto s = load("broken.lua", "local x = nil\n\nreturn x.field == 1\n");
  ASSERT_TRUE(s);
  std::string err = rule_error(*s);
  EXPECT_THAT(err, StartsWith(dir_.file("broken.lua") + ":3: "));
  EXPECT_THAT(err, HasSubstr("attempt to index a nil value"));

  auto thrown = load("thrown.lua", "local function f()\n  error('boom')\nend\nf()\nreturn true\n");
  ASSERT_TRUE(thrown);
  EXPECT_EQ(rule_error(*thrown), dir_.file("thrown.lua") + ":2: boom");

  auto table = load("table.lua", "\nerror({})\n");
  ASSERT_TRUE(table);
  EXPECT_EQ(rule_error(*table), dir_.file("table.lua") + ":2: error object is a table value");

  auto bare = load("bare.lua", "\n\nerror('no position', 0)\n");
  ASSERT_TRUE(bare);
  EXPECT_EQ(rule_error(*bare), dir_.file("bare.lua") + ":3: no position");
}

TEST_F(LuaSandboxTest, LongPathsAreGivenInFull) {
  const std::string name = std::string(80, 'x') + ".lua";
  auto s = load(name, "local t\nreturn t.x\n");
  ASSERT_TRUE(s);
  EXPECT_THAT(rule_error(*s), StartsWith(dir_.file(name) + ":2: attempt to index"));
  EXPECT_THAT(load_error("syntax-" + name, "\nreturn (\n"), StartsWith(dir_.file("syntax-" + name) + ":3: "));
}

TEST_F(LuaSandboxTest, SyntaxErrorAtLoad) {
  std::string err = load_error("syntax.lua", "local a = 1\nif a then\nreturn true\n");
  EXPECT_THAT(err, StartsWith(dir_.file("syntax.lua") + ":4: "));
  EXPECT_THAT(err, HasSubstr("'end' expected"));
  EXPECT_THAT(Script::load(dir_.file("missing.lua")).error().message, HasSubstr("cannot read script"));
  EXPECT_THAT(Script::load(dir_.path()).error().message, HasSubstr("cannot read script"));
}

TEST_F(LuaSandboxTest, ShebangAndByteOrderMarkKeepLineNumbers) {
  auto s = load("shebang.lua", "#!/usr/bin/env lua\nlocal t\nreturn t.x\n");
  ASSERT_TRUE(s);
  EXPECT_THAT(rule_error(*s), StartsWith(dir_.file("shebang.lua") + ":3: "));
  auto bom = load("bom.lua", "\xEF\xBB\xBFreturn true\n");
  ASSERT_TRUE(bom);
  EXPECT_TRUE(rule_value(*bom));
}

TEST_F(LuaSandboxTest, BinaryChunksAreRefused) {
  // Real bytecode, made by a separate, unrestricted Lua state.
  lua_State* L = luaL_newstate();
  ASSERT_EQ(luaL_loadstring(L, "return true"), LUA_OK);
  std::string bytecode;
  lua_dump(
      L,
      [](lua_State*, const void* p, size_t n, void* ud) {
        static_cast<std::string*>(ud)->append(static_cast<const char*>(p), n);
        return 0;
      },
      &bytecode, 0);
  lua_close(L);
  ASSERT_FALSE(bytecode.empty());
  EXPECT_THAT(load_error("compiled.luac", bytecode),
              HasSubstr("precompiled (binary) Lua chunks are refused"));
  // Hidden behind a byte order mark, the mode "t" refuses it all the same.
  EXPECT_THAT(load_error("hidden.luac", "\xEF\xBB\xBF" + bytecode), HasSubstr("binary chunk"));
}

TEST_F(LuaSandboxTest, DangerousLibrariesAreAbsent) {
  auto s = load("absent.lua", R"(
local missing = { os = os, io = io, require = require, load = load, loadstring = loadstring,
  dofile = dofile, loadfile = loadfile, debug = debug, package = package, print = print,
  collectgarbage = collectgarbage, setmetatable = setmetatable, getmetatable = getmetatable,
  rawset = rawset, rawget = rawget, coroutine = coroutine, dump = string.dump,
  string_dump = ("").dump }
for name, value in pairs(missing) do error(name .. " is available") end
return type(string.format) == "function" and type(table.concat) == "function"
  and type(math.floor) == "function" and type(utf8.char) == "function"
  and type(pcall) == "function" and _G.old == old
)");
  ASSERT_TRUE(s);
  EXPECT_TRUE(rule_value(*s));

  auto os = load("os.lua", "return os.execute('true') == 0\n");
  ASSERT_TRUE(os);
  EXPECT_THAT(rule_error(*os), AllOf(StartsWith(dir_.file("os.lua") + ":1: "), HasSubstr("global 'os'")));
  auto io = load("io.lua", "\nreturn io.open('/etc/passwd') ~= nil\n");
  ASSERT_TRUE(io);
  EXPECT_THAT(rule_error(*io), HasSubstr(":2: attempt to index a nil value (global 'io')"));
  auto req = load("require.lua", "return require('os') ~= nil\n");
  ASSERT_TRUE(req);
  EXPECT_THAT(rule_error(*req), HasSubstr("attempt to call a nil value (global 'require')"));
  auto dump = load("dump.lua", "return ('x').dump(function() end) ~= nil\n");
  ASSERT_TRUE(dump);
  EXPECT_THAT(rule_error(*dump), HasSubstr("attempt to call a nil value (field 'dump')"));
}

TEST_F(LuaSandboxTest, MathRandomIsAllowed) {
  auto s = load("random.lua", "local n = math.random(1, 6)\nreturn n >= 1 and n <= 6\n");
  ASSERT_TRUE(s);
  EXPECT_TRUE(rule_value(*s));
}

TEST_F(LuaSandboxTest, InfiniteLoopHitsTheBudget) {
  auto s = load("loop.lua", "if entity.action == 'LOOP' then\n  while true do end\nend\nreturn true\n");
  ASSERT_TRUE(s);
  Event loop = sample_event();
  loop.action = "LOOP";
  std::string err = rule_error(*s, loop);
  EXPECT_THAT(err, StartsWith(dir_.file("loop.lua") + ":2: "));
  EXPECT_THAT(err, HasSubstr("instruction budget of 1000000 instructions exceeded"));
  // The state is still good.
  EXPECT_TRUE(rule_value(*s));
  EXPECT_THAT(rule_error(*s, loop), HasSubstr("instruction budget"));
  EXPECT_TRUE(rule_value(*s));
}

TEST_F(LuaSandboxTest, PcallCannotSwallowTheBudget) {
  auto s = load("swallow.lua", "while true do\n  pcall(function() while true do end end)\nend\nreturn true\n",
                ScriptLimits{100'000, 8 << 20});
  ASSERT_TRUE(s);
  EXPECT_THAT(rule_error(*s), HasSubstr("instruction budget of 100000 instructions exceeded"));
  auto x =
      load("xpcall.lua",
           "for i = 1, 1e9 do\n  xpcall(function() while true do end end, function(m) return m end)\nend\n"
           "return true\n",
           ScriptLimits{100'000, 8 << 20});
  ASSERT_TRUE(x);
  EXPECT_THAT(rule_error(*x), HasSubstr("instruction budget"));
}

TEST_F(LuaSandboxTest, BudgetResetsForEachEvaluation) {
  // About 4 instructions per iteration: well inside 10,000 once, far beyond
  // it if the count carried over.
  auto s = load("busy.lua", "local n = 0\nfor i = 1, 1000 do n = n + i end\nreturn n == 500500\n",
                ScriptLimits{10'000, 8 << 20});
  ASSERT_TRUE(s);
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(rule_value(*s));
  auto tight = load("tight.lua", "local n = 0\nfor i = 1, 1000 do n = n + i end\nreturn true\n",
                    ScriptLimits{1'000, 8 << 20});
  ASSERT_TRUE(tight);
  EXPECT_THAT(rule_error(*tight), HasSubstr("instruction budget of 1000 instructions exceeded"));
}

TEST_F(LuaSandboxTest, UnboundedAllocationHitsTheMemoryCap) {
  auto s = load("hog.lua",
                "if entity.action == 'HOG' then\n"
                "  local t = {}\n"
                "  while true do t[#t + 1] = string.rep('x', 1e5) end\n"
                "end\n"
                "return true\n");
  ASSERT_TRUE(s);
  Event hog = sample_event();
  hog.action = "HOG";
  std::string err = rule_error(*s, hog);
  EXPECT_THAT(err, StartsWith(dir_.file("hog.lua") + ": memory limit of 8388608 bytes exceeded"));
  // Usable afterwards, again and again.
  EXPECT_TRUE(rule_value(*s));
  EXPECT_THAT(rule_error(*s, hog), HasSubstr("memory limit"));
  EXPECT_TRUE(rule_value(*s));

  auto big = load("big.lua", "return #string.rep('x', 1 << 30) > 0\n");
  ASSERT_TRUE(big);
  EXPECT_THAT(rule_error(*big), HasSubstr("memory limit"));

  // Caught by the script: the cap holds and the script goes on.
  auto caught = load("caught.lua",
                     "local ok, err = pcall(function() local t = {} while true do t[#t + 1] = "
                     "string.rep('y', 1e5) end end)\nreturn ok == false and err == 'not enough memory'\n");
  ASSERT_TRUE(caught);
  EXPECT_TRUE(rule_value(*caught));
}

TEST_F(LuaSandboxTest, TinyMemoryCapFailsAtLoad) {
  std::string err = load_error("tiny.lua", "return true", ScriptLimits{1'000'000, 4096});
  EXPECT_THAT(err, HasSubstr(dir_.file("tiny.lua")));
  EXPECT_THAT(err, HasSubstr("memory limit of 4096 bytes"));
}

TEST_F(LuaSandboxTest, GlobalsDoNotLeakBetweenEvaluations) {
  auto s = load("leak.lua", R"(
local fresh = counter == nil and string.marker == nil and math.pi ~= 4 and table.insert ~= nil
counter = (counter or 0) + 1
string.marker = true
math.pi = 4
table.insert = nil
return fresh and counter == 1
)");
  ASSERT_TRUE(s);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(rule_value(*s)) << "run " << i;
  // The string metatable still reaches the untouched library.
  auto meta = load("meta.lua", "string.upper = nil\nreturn ('abc'):upper() == 'ABC'\n");
  ASSERT_TRUE(meta);
  EXPECT_TRUE(rule_value(*meta));
  EXPECT_TRUE(rule_value(*meta));
}

TEST_F(LuaSandboxTest, RecipientsList) {
  auto s = load("recipients.lua", R"(
if entity.action == "NONE" then return nil end
if entity.action == "EMPTY" then return {} end
return { "42", entity.keys.PersonID, 7.0, "{GUID-1}" }
)");
  ASSERT_TRUE(s);
  auto ids = s->evaluate_recipients(sample_event());
  ASSERT_TRUE(ids) << ids.error().message;
  EXPECT_THAT(*ids, ElementsAre("42", "3", "7", "{GUID-1}"));
  Event e = sample_event();
  e.action = "NONE";
  ids = s->evaluate_recipients(e);
  ASSERT_TRUE(ids) << ids.error().message;
  EXPECT_THAT(*ids, IsEmpty());
  e.action = "EMPTY";
  ids = s->evaluate_recipients(e);
  ASSERT_TRUE(ids) << ids.error().message;
  EXPECT_THAT(*ids, IsEmpty());
}

TEST_F(LuaSandboxTest, RecipientsOfTheWrongShapeAreErrors) {
  auto s = load("bad.lua", R"(
local a = entity.action
if a == "STRING" then return "42" end
if a == "BOOL" then return { "1", true } end
if a == "FLOAT" then return { 1.5 } end
if a == "EMPTYSTRING" then return { "" } end
if a == "MAP" then return { id = "1" } end
if a == "HOLES" then return { "1", nil, "3" } end
error("unexpected " .. a)
)");
  ASSERT_TRUE(s);
  auto err = [&](const std::string& action) {
    Event e = sample_event();
    e.action = action;
    auto r = s->evaluate_recipients(e);
    EXPECT_FALSE(r) << action;
    return r ? std::string() : r.error().message;
  };
  const std::string path = dir_.file("bad.lua");
  EXPECT_THAT(err("STRING"),
              AllOf(StartsWith(path + ":3: "), HasSubstr("must return a list of identity ids")));
  EXPECT_THAT(err("BOOL"), HasSubstr("recipient 2 is not an identity id"));
  EXPECT_THAT(err("FLOAT"), HasSubstr("recipient 1 is not an identity id"));
  EXPECT_THAT(err("EMPTYSTRING"), HasSubstr("recipient 1 is not an identity id"));
  EXPECT_THAT(err("MAP"), HasSubstr("found the key string \"id\""));
  EXPECT_THAT(err("HOLES"), HasSubstr("must return a list"));
  EXPECT_THAT(err("OTHER"), HasSubstr(path + ":9: unexpected OTHER"));
}

TEST_F(LuaSandboxTest, DeeplyNestedJsonIsAnErrorNotACrash) {
  auto s = load("deep.lua", "return true\n");
  ASSERT_TRUE(s);
  json deep = 1;
  for (int i = 0; i < 500; ++i) deep = json::array({deep});
  Event e = sample_event();
  e.new_values = {{"deep", deep}};
  EXPECT_THAT(rule_error(*s, e), HasSubstr("nested deeper than"));
  EXPECT_TRUE(rule_value(*s));
}

}  // namespace
}  // namespace herald::rules
