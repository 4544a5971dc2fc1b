// Rule and recipient scripts: Lua 5.4 in a sandbox.
//
// A Script owns one lua_State. The file is compiled once by load() (text
// only: precompiled bytecode is refused) and kept in the state's registry;
// every evaluation calls it afresh with a new global environment, so nothing
// a script stores in a global survives to the next evaluation.
//
// What a script sees (all of them tables, never nil):
//   old, new          the event's old_values / new_values without "eav";
//                     empty when that side is null (CREATE has no old values,
//                     DELETE no new ones)
//   oldEavs, newEavs  the "eav" objects of old_values / new_values; empty
//                     when missing
//   entity            { type = "identity", action = "UPDATE", name = "REST
//                     Person Edited" (nil when the event has none), id = 42
//                     (outbox row id), keys = { PersonID = 3, ... },
//                     occurred_at = "..." }
// JSON objects become tables, arrays sequences (1-based), strings, numbers
// (integers stay integers) and booleans their Lua counterparts; JSON null
// becomes nil, so a key holding null is simply absent.
//
// The library: assert, error, ipairs, next, pairs, pcall, select, tonumber,
// tostring, type, xpcall, _G, _VERSION, and the tables string (without
// string.dump), table, math and utf8. Each evaluation gets its own copies of
// these tables, so a script that changes them changes nothing for the next.
// Not available: io, os, package, debug, coroutine, require, load,
// loadstring, dofile, loadfile, collectgarbage, print, getmetatable,
// setmetatable, raw*.
//
// Limits, per evaluation: `instructions` Lua VM instructions (checked every
// 1000 instructions or fewer) and `memory_bytes` for the whole state (the
// libraries take about 20 KiB of it). Time spent inside one library call,
// such as a pattern match over a long string, is not counted as
// instructions. After an overrun the state stays usable for the next
// evaluation.
//
// Every failure is an Error whose message starts with the script's path and,
// when known, the line: "/etc/herald/scripts/x.lua:12: attempt to index a
// nil value (field 'address')". A Script is not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "outbox/event.h"

struct lua_State;

namespace herald::rules {

struct ScriptLimits {
  uint64_t instructions = 1'000'000;
  size_t memory_bytes = 8 << 20;
};

class Script {
 public:
  // Reads and compiles the file; a syntax error names file:line.
  static Result<std::unique_ptr<Script>> load(const std::string& path, ScriptLimits limits = {});

  ~Script();
  Script(const Script&) = delete;
  Script& operator=(const Script&) = delete;

  // A rule script must return true or false; anything else is an error
  // ("... must return a boolean, got string").
  Result<bool> evaluate_rule(const Event& e);
  // A recipients script returns a sequence of identity ids, each a non-empty
  // string or an integer (given back as its decimal text); nil or an empty
  // table means none. Anything else is an error.
  Result<std::vector<std::string>> evaluate_recipients(const Event& e);

  const std::string& path() const { return path_; }
  const ScriptLimits& limits() const { return limits_; }

  struct Sandbox;  // allocator and hook bookkeeping (lua_sandbox.cc)

 private:
  Script(std::string path, ScriptLimits limits);
  // Runs the chunk for e; on success its first result is left on the stack.
  Status run(const Event& e);
  std::string located(const std::string& msg, int line) const;

  std::string path_;
  ScriptLimits limits_;
  std::unique_ptr<Sandbox> sandbox_;
  lua_State* L_ = nullptr;
  int chunk_ref_ = 0;      // the compiled chunk, in the registry
  int proto_ref_ = 0;      // the library tables each environment is copied from
  std::string short_src_;  // how Lua names the file in its messages
};

}  // namespace herald::rules
