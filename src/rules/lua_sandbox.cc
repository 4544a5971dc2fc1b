#include "rules/lua_sandbox.h"

#include <lua.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

namespace herald::rules {

// Shared by the allocator, the hook and the message handler, all of which
// reach it through lua_getallocf. Plain data only: code that Lua may unwind
// with longjmp must not own C++ objects.
struct Script::Sandbox {
  // Memory, for the whole state.
  size_t used = 0;
  size_t limit = 0;
  bool memory_refused = false;  // an allocation was refused during this evaluation
  // Instructions, per evaluation.
  uint64_t budget = 0;
  uint64_t spent = 0;
  int step = 1000;  // instructions between two count hooks
  bool budget_exceeded = false;
  // Where the script was.
  std::string chunkname;  // "@" + path
  int last_line = 0;      // last line of the chunk seen by the count hook
  int error_line = 0;     // line of the chunk where the error was raised
  int return_line = 0;    // line of the chunk's return
};

namespace {

using json = nlohmann::json;
using Sandbox = Script::Sandbox;

constexpr int kMaxJsonDepth = 200;

// Functions of the base library a script may call.
constexpr const char* kBaseFunctions[] = {"assert", "error",    "ipairs",   "next", "pairs",  "pcall",
                                          "select", "tonumber", "tostring", "type", "xpcall", "_VERSION"};
// Globals removed from the state's own global table. Scripts never see that
// table (each run gets its own environment); this is defence in depth.
constexpr const char* kRemovedGlobals[] = {"load",           "loadfile", "dofile",       "require",
                                           "collectgarbage", "print",    "getmetatable", "setmetatable",
                                           "rawget",         "rawset",   "rawequal",     "rawlen"};

Sandbox* sandbox_of(lua_State* L) {
  void* ud = nullptr;
  lua_getallocf(L, &ud);
  return static_cast<Sandbox*>(ud);
}

void* sandbox_alloc(void* ud, void* ptr, size_t osize, size_t nsize) {
  auto* sb = static_cast<Sandbox*>(ud);
  const size_t old = ptr ? osize : 0;  // for a new block osize is the object's type
  if (nsize == 0) {
    std::free(ptr);
    sb->used -= old;
    return nullptr;
  }
  if (nsize > old) {
    const size_t room = sb->limit > sb->used ? sb->limit - sb->used : 0;
    if (nsize - old > room) {
      sb->memory_refused = true;
      return nullptr;  // Lua collects garbage and tries again before failing
    }
  }
  void* p = std::realloc(ptr, nsize);
  if (p == nullptr) {
    if (nsize > old) return nullptr;
    p = ptr;  // Lua expects shrinking to succeed; keep the larger block
  }
  sb->used = sb->used - old + nsize;
  return p;
}

bool in_chunk(const Sandbox* sb, const lua_Debug& ar) {
  return ar.source != nullptr && std::strcmp(ar.source, sb->chunkname.c_str()) == 0;
}

void sandbox_hook(lua_State* L, lua_Debug* ar) {
  Sandbox* sb = sandbox_of(L);
  if (ar->event == LUA_HOOKRET) {
    if (lua_getinfo(L, "Sl", ar) != 0 && in_chunk(sb, *ar) && ar->linedefined == 0) {
      sb->return_line = ar->currentline;
    }
    return;
  }
  if (ar->event != LUA_HOOKCOUNT) return;
  if (lua_getinfo(L, "Sl", ar) != 0 && ar->currentline > 0 && in_chunk(sb, *ar))
    sb->last_line = ar->currentline;
  if (!sb->budget_exceeded) {
    sb->spent += static_cast<uint64_t>(sb->step);
    if (sb->spent < sb->budget) return;
    sb->budget_exceeded = true;
    // From now on every instruction fails, so a script cannot swallow the
    // error with pcall and carry on.
    lua_sethook(L, sandbox_hook, LUA_MASKCOUNT, 1);
  }
  lua_pushliteral(L, "instruction budget exceeded");
  lua_error(L);
}

// Notes the line of the chunk that raised the error; makes sure the error
// object is a string.
int message_handler(lua_State* L) {
  Sandbox* sb = sandbox_of(L);
  lua_Debug ar;
  for (int level = 1; lua_getstack(L, level, &ar) != 0; ++level) {
    if (lua_getinfo(L, "Sl", &ar) != 0 && ar.currentline > 0 && in_chunk(sb, ar)) {
      sb->error_line = ar.currentline;
      break;
    }
  }
  const int t = lua_type(L, 1);
  if (t == LUA_TNUMBER) {
    lua_tostring(L, 1);  // converts in place
  } else if (t != LUA_TSTRING) {
    lua_pushfstring(L, "error object is a %s value", luaL_typename(L, 1));
    return 1;
  }
  lua_settop(L, 1);
  return 1;
}

void push_json(lua_State* L, const json& j, int depth) {
  if (depth > kMaxJsonDepth) luaL_error(L, "event JSON nested deeper than %d levels", kMaxJsonDepth);
  luaL_checkstack(L, 3, "event JSON nested too deeply");
  switch (j.type()) {
    case json::value_t::boolean:
      lua_pushboolean(L, j.get<bool>() ? 1 : 0);
      return;
    case json::value_t::number_integer:
      lua_pushinteger(L, static_cast<lua_Integer>(j.get<json::number_integer_t>()));
      return;
    case json::value_t::number_unsigned: {
      const auto u = j.get<json::number_unsigned_t>();
      if (u <= static_cast<json::number_unsigned_t>(LUA_MAXINTEGER)) {
        lua_pushinteger(L, static_cast<lua_Integer>(u));
      } else {
        lua_pushnumber(L, static_cast<lua_Number>(u));
      }
      return;
    }
    case json::value_t::number_float:
      lua_pushnumber(L, static_cast<lua_Number>(j.get<json::number_float_t>()));
      return;
    case json::value_t::string: {
      const auto& s = j.get_ref<const std::string&>();
      lua_pushlstring(L, s.data(), s.size());
      return;
    }
    case json::value_t::array: {
      lua_createtable(L, static_cast<int>(std::min<size_t>(j.size(), 1 << 20)), 0);
      for (size_t i = 0; i < j.size(); ++i) {
        push_json(L, j[i], depth + 1);
        lua_rawseti(L, -2, static_cast<lua_Integer>(i) + 1);  // nil leaves a hole
      }
      return;
    }
    case json::value_t::object: {
      lua_createtable(L, 0, static_cast<int>(std::min<size_t>(j.size(), 1 << 20)));
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (it->is_null()) continue;
        const std::string& key = it.key();
        lua_pushlstring(L, key.data(), key.size());
        push_json(L, *it, depth + 1);
        lua_rawset(L, -3);
      }
      return;
    }
    default:  // null, binary, discarded
      lua_pushnil(L);
      return;
  }
}

// old / new: the side's attributes without "eav"; an empty table when the
// side is not an object.
void push_attributes(lua_State* L, const json& side) {
  if (!side.is_object()) {
    lua_newtable(L);
    return;
  }
  lua_createtable(L, 0, static_cast<int>(std::min<size_t>(side.size(), 1 << 20)));
  for (auto it = side.begin(); it != side.end(); ++it) {
    if (it->is_null() || it.key() == "eav") continue;
    const std::string& key = it.key();
    lua_pushlstring(L, key.data(), key.size());
    push_json(L, *it, 1);
    lua_rawset(L, -3);
  }
}

void push_eavs(lua_State* L, const json& side) {
  if (side.is_object()) {
    auto it = side.find("eav");
    if (it != side.end() && it->is_object()) {
      push_json(L, *it, 1);
      return;
    }
  }
  lua_newtable(L);
}

void push_entity(lua_State* L, const Event& e) {
  lua_createtable(L, 0, 6);
  lua_pushlstring(L, e.entity.data(), e.entity.size());
  lua_setfield(L, -2, "type");
  lua_pushlstring(L, e.action.data(), e.action.size());
  lua_setfield(L, -2, "action");
  if (!e.name.empty()) {
    lua_pushlstring(L, e.name.data(), e.name.size());
    lua_setfield(L, -2, "name");
  }
  lua_pushinteger(L, static_cast<lua_Integer>(e.id));
  lua_setfield(L, -2, "id");
  if (!e.occurred_at.empty()) {
    lua_pushlstring(L, e.occurred_at.data(), e.occurred_at.size());
    lua_setfield(L, -2, "occurred_at");
  }
  if (e.keys.is_object()) {
    push_json(L, e.keys, 1);
  } else {
    lua_newtable(L);
  }
  lua_setfield(L, -2, "keys");
}

// Protected set-up of a new state: the libraries, the prototype environment
// and the compiled chunk.
struct PrepareContext {
  const char* source = nullptr;
  size_t size = 0;
  const char* chunkname = nullptr;
  int proto_ref = LUA_NOREF;
  int chunk_ref = LUA_NOREF;
};

int prepare_state(lua_State* L) {
  auto* ctx = static_cast<PrepareContext*>(lua_touserdata(L, 1));
  lua_settop(L, 0);
  lua_createtable(L, 0, 20);  // 1: the prototype environment

  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);  // 2: the state's global table
  for (const char* name : kBaseFunctions) {
    lua_getfield(L, 2, name);
    lua_setfield(L, 1, name);
  }
  for (const char* name : kRemovedGlobals) {
    lua_pushnil(L);
    lua_setfield(L, 2, name);
  }
  lua_pop(L, 1);

  const std::pair<const char*, lua_CFunction> libs[] = {{LUA_STRLIBNAME, luaopen_string},
                                                        {LUA_TABLIBNAME, luaopen_table},
                                                        {LUA_MATHLIBNAME, luaopen_math},
                                                        {LUA_UTF8LIBNAME, luaopen_utf8}};
  for (const auto& [name, open] : libs) {
    luaL_requiref(L, name, open, 0);
    if (std::strcmp(name, LUA_STRLIBNAME) == 0) {
      // Also gone from the table behind the string metatable ("":dump).
      lua_pushnil(L);
      lua_setfield(L, -2, "dump");
    }
    lua_setfield(L, 1, name);
  }
  ctx->proto_ref = luaL_ref(L, LUA_REGISTRYINDEX);

  // Text only: a precompiled chunk is refused by the mode "t".
  if (luaL_loadbufferx(L, ctx->source, ctx->size, ctx->chunkname, "t") != LUA_OK) lua_error(L);
  ctx->chunk_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

struct RunContext {
  const Event* event = nullptr;
  int chunk_ref = LUA_NOREF;
  int proto_ref = LUA_NOREF;
};

// Protected: builds a fresh environment and calls the chunk with it.
int run_chunk(lua_State* L) {
  auto* ctx = static_cast<RunContext*>(lua_touserdata(L, 1));
  lua_settop(L, 0);
  lua_createtable(L, 0, 24);                          // 1: env
  lua_rawgeti(L, LUA_REGISTRYINDEX, ctx->proto_ref);  // 2: prototype
  lua_pushnil(L);
  while (lua_next(L, 2) != 0) {  // 3: key, 4: value
    if (lua_type(L, 4) == LUA_TTABLE) {
      // A copy of each library table, so changes die with this run.
      lua_createtable(L, 0, 32);  // 5
      lua_pushnil(L);
      while (lua_next(L, 4) != 0) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, 5);
      }
      lua_replace(L, 4);
    }
    lua_pushvalue(L, 3);
    lua_pushvalue(L, 4);
    lua_rawset(L, 1);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  lua_pushvalue(L, 1);
  lua_setfield(L, 1, "_G");

  const Event& e = *ctx->event;
  push_attributes(L, e.old_values);
  lua_setfield(L, 1, "old");
  push_attributes(L, e.new_values);
  lua_setfield(L, 1, "new");
  push_eavs(L, e.old_values);
  lua_setfield(L, 1, "oldEavs");
  push_eavs(L, e.new_values);
  lua_setfield(L, 1, "newEavs");
  push_entity(L, e);
  lua_setfield(L, 1, "entity");

  lua_rawgeti(L, LUA_REGISTRYINDEX, ctx->chunk_ref);  // 2: the chunk
  lua_pushvalue(L, 1);
  if (lua_setupvalue(L, 2, 1) == nullptr) lua_pop(L, 1);  // its _ENV
  lua_call(L, 0, 1);
  return 1;
}

// How Lua names a "@path" chunk in messages (luaO_chunkid): long paths keep
// their end behind "...".
std::string lua_short_src(const std::string& path) {
  const size_t srclen = path.size() + 1;  // with the '@'
  if (srclen <= LUA_IDSIZE) return path;
  const size_t keep = LUA_IDSIZE - 3 - 1;  // "..." and the terminating NUL
  return "..." + path.substr(path.size() - keep);
}

std::string describe(lua_State* L, int idx) {
  const int t = lua_type(L, idx);
  std::string out = lua_typename(L, t);
  if (t == LUA_TSTRING) {
    size_t n = 0;
    const char* s = lua_tolstring(L, idx, &n);
    std::string text(s, std::min<size_t>(n, 40));
    out += " \"" + text + (n > 40 ? "...\"" : "\"");
  } else if (t == LUA_TNUMBER) {
    if (lua_isinteger(L, idx)) {
      out += " " + std::to_string(lua_tointeger(L, idx));
    } else {
      std::ostringstream ss;
      ss << lua_tonumber(L, idx);
      out += " " + ss.str();
    }
  }
  return out;
}

// Empties the stack when it goes out of scope.
struct StackReset {
  lua_State* L;
  ~StackReset() { lua_settop(L, 0); }
};

}  // namespace

Script::Script(std::string path, ScriptLimits limits)
    : path_(std::move(path)), limits_(limits), sandbox_(std::make_unique<Sandbox>()) {}

Script::~Script() {
  if (L_) lua_close(L_);
}

Result<std::unique_ptr<Script>> Script::load(const std::string& path, ScriptLimits limits) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Error{"cannot read script '" + path + "': " + (ec ? ec.message() : "not a regular file")};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read script '" + path + "': " + std::strerror(errno)};
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Error{"cannot read script '" + path + "'"};
  std::string source = ss.str();

  std::unique_ptr<Script> s(new Script(path, limits));
  s->short_src_ = lua_short_src(path);
  Sandbox& sb = *s->sandbox_;
  sb.chunkname = "@" + path;
  sb.limit = limits.memory_bytes;
  sb.budget = limits.instructions;
  sb.step = static_cast<int>(std::max<uint64_t>(1, std::min<uint64_t>(limits.instructions, 1000)));

  if (!source.empty() && source[0] == LUA_SIGNATURE[0]) {
    return Error{path + ": precompiled (binary) Lua chunks are refused; give the script as text"};
  }
  // Like lua's own file loader: skip a UTF-8 byte order mark and a first
  // line starting with '#', keeping the line numbers.
  if (source.compare(0, 3, "\xEF\xBB\xBF") == 0) source.erase(0, 3);
  if (!source.empty() && source[0] == '#') source.erase(0, std::min(source.find('\n'), source.size()));

  s->L_ = lua_newstate(sandbox_alloc, s->sandbox_.get());
  if (s->L_ == nullptr) {
    return Error{path + ": cannot create a Lua state within the memory limit of " +
                 std::to_string(limits.memory_bytes) + " bytes"};
  }
  lua_State* L = s->L_;
  StackReset reset{L};
  PrepareContext ctx;
  ctx.source = source.data();
  ctx.size = source.size();
  ctx.chunkname = sb.chunkname.c_str();
  lua_pushcfunction(L, prepare_state);
  lua_pushlightuserdata(L, &ctx);
  const int rc = lua_pcall(L, 1, 0, 0);
  if (rc != LUA_OK) {
    std::string msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "cannot load the script";
    if (rc == LUA_ERRMEM || sb.memory_refused) {
      msg = "memory limit of " + std::to_string(limits.memory_bytes) + " bytes exceeded while loading";
    }
    return Error{s->located(msg, 0)};
  }
  s->proto_ref_ = ctx.proto_ref;
  s->chunk_ref_ = ctx.chunk_ref;
  return s;
}

std::string Script::located(const std::string& msg, int line) const {
  // Lua's own "short_src:line:" prefix is replaced by the full path.
  const std::string prefix = short_src_ + ":";
  if (msg.compare(0, prefix.size(), prefix) == 0) {
    size_t i = prefix.size();
    size_t j = i;
    while (j < msg.size() && msg[j] >= '0' && msg[j] <= '9') ++j;
    if (j > i && j < msg.size() && msg[j] == ':') return path_ + msg.substr(short_src_.size());
  }
  std::string out = path_;
  if (line > 0) out += ":" + std::to_string(line);
  return out + ": " + msg;
}

Status Script::run(const Event& e) {
  lua_State* L = L_;
  Sandbox& sb = *sandbox_;
  lua_settop(L, 0);
  sb.spent = 0;
  sb.budget_exceeded = false;
  sb.memory_refused = false;
  sb.last_line = 0;
  sb.error_line = 0;
  sb.return_line = 0;

  RunContext ctx;
  ctx.event = &e;
  ctx.chunk_ref = chunk_ref_;
  ctx.proto_ref = proto_ref_;
  lua_pushcfunction(L, message_handler);  // 1
  lua_pushcfunction(L, run_chunk);
  lua_pushlightuserdata(L, &ctx);
  lua_sethook(L, sandbox_hook, LUA_MASKCOUNT | LUA_MASKRET, sb.step);
  const int rc = lua_pcall(L, 1, 1, 1);
  lua_sethook(L, nullptr, 0, 0);
  if (rc == LUA_OK && !sb.budget_exceeded) return {};

  std::string msg;
  if (sb.budget_exceeded) {
    msg = located("instruction budget of " + std::to_string(limits_.instructions) + " instructions exceeded",
                  sb.error_line > 0 ? sb.error_line : sb.last_line);
  } else if (rc == LUA_ERRMEM) {
    msg = located(sb.memory_refused
                      ? "memory limit of " + std::to_string(limits_.memory_bytes) + " bytes exceeded"
                      : std::string("out of memory"),
                  0);
    if (sb.last_line > 0) msg += " (near line " + std::to_string(sb.last_line) + ")";
  } else {
    std::string what = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "unknown error";
    msg = located(what, sb.error_line);
  }
  lua_settop(L, 0);
  if (sb.budget_exceeded || rc == LUA_ERRMEM) lua_gc(L, LUA_GCCOLLECT);  // give the runaway's memory back
  return Error{msg};
}

Result<bool> Script::evaluate_rule(const Event& e) {
  if (auto s = run(e); !s) return s.error();
  StackReset reset{L_};
  if (lua_type(L_, -1) != LUA_TBOOLEAN) {
    return Error{located("a rule script must return a boolean (true or false), got " + describe(L_, -1),
                         sandbox_->return_line)};
  }
  return lua_toboolean(L_, -1) != 0;
}

Result<std::vector<std::string>> Script::evaluate_recipients(const Event& e) {
  if (auto s = run(e); !s) return s.error();
  StackReset reset{L_};
  lua_State* L = L_;
  const int line = sandbox_->return_line;
  const int t = lua_type(L, -1);
  if (t == LUA_TNIL) return std::vector<std::string>{};
  if (t != LUA_TTABLE) {
    return Error{
        located("a recipients script must return a list of identity ids, got " + describe(L, -1), line)};
  }
  const int list = lua_gettop(L);
  const auto n = static_cast<lua_Integer>(lua_rawlen(L, list));
  lua_Integer count = 0;
  lua_pushnil(L);
  while (lua_next(L, list) != 0) {
    ++count;
    const bool index = lua_isinteger(L, -2) && lua_tointeger(L, -2) >= 1 && lua_tointeger(L, -2) <= n;
    if (!index) {
      std::string key = describe(L, -2);
      return Error{located(
          "a recipients script must return a list (a sequence) of identity ids; found the key " + key, line)};
    }
    lua_pop(L, 1);
  }
  if (count != n) {
    return Error{
        located("a recipients script must return a list (a sequence) of identity ids; it has holes", line)};
  }
  std::vector<std::string> ids;
  ids.reserve(static_cast<size_t>(n));
  for (lua_Integer i = 1; i <= n; ++i) {
    lua_rawgeti(L, list, i);
    const int vt = lua_type(L, -1);
    std::string id;
    if (vt == LUA_TSTRING) {
      size_t len = 0;
      const char* s = lua_tolstring(L, -1, &len);
      id.assign(s, len);
    } else if (vt == LUA_TNUMBER && lua_isinteger(L, -1)) {
      id = std::to_string(lua_tointeger(L, -1));
    } else if (vt == LUA_TNUMBER) {
      const lua_Number v = lua_tonumber(L, -1);
      if (std::floor(v) == v && std::fabs(v) < 9.0e15) id = std::to_string(static_cast<long long>(v));
    }
    if (id.empty()) {
      return Error{
          located("recipient " + std::to_string(i) +
                      " is not an identity id (a non-empty string or an integer): " + describe(L, -1),
                  line)};
    }
    lua_pop(L, 1);
    ids.push_back(std::move(id));
  }
  return ids;
}

}  // namespace herald::rules
