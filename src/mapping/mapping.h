// Mapping files: how one notification is rendered from an event. A mapping
// file (XML, root <Notification>) declares data sources (views of the
// producer database looked up by a key of the event), the endpoint (verb and
// URL template) and the JSON body (properties placed by JPath). Mapping::load
// parses, checks and compiles a file once, preparing one statement per data
// source; Mapping::render fills it in for one event.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "db/sqlite.h"
#include "mapping/url.h"  // join_url, percent_encode_segment
#include "outbox/event.h"

namespace herald::mapping {

// How a render hands over the body: as a tree, or written out as JSON text
// (for a channel that sends the body as it is, which then costs no tree).
enum class BodyForm { Tree, Text };

struct RenderedMessage {
  std::string verb;       // POST (default), PUT, DELETE, PATCH
  std::string path;       // the mapping's URL after substitution (values percent-encoded as path segments)
  nlohmann::json body;    // BodyForm::Tree: always an object (empty object when no <Body>); else null
  std::string body_text;  // BodyForm::Text: the same body as JSON text, what json_text(body) would give
};

struct RenderContext {
  const Event& event;
  // Optional object of extra sources, e.g. {"Rule": {"attribute": "...",
  // "old": "...", "new": "...", "topic": "...", "level": "..."}}; a mapping
  // reads {Rule.old} or Retrieval="Rule" Field="old" from here. Other
  // top-level names work the same way when passed to load as extra_sources.
  const nlohmann::json* extra = nullptr;
};

class Mapping {
 public:
  // Parses (pugixml) and compiles the file at path. producer may be null;
  // then a mapping that declares a <DataSource> fails to load. One prepared
  // statement per data source is created here on producer, which must
  // outlive the mapping. extra_sources names further top-level members of
  // RenderContext::extra that Retrieval may use ("Rule" is always allowed).
  // Errors read "file:line: <Element>: message".
  static Result<std::shared_ptr<Mapping>> load(const std::string& path, db::Database* producer,
                                               const std::vector<std::string>& extra_sources = {});

  ~Mapping();
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  // Renders the notification for one event. Non-const: steps the prepared
  // statements; use from one thread at a time. Fails when a URL placeholder
  // has no value, a value cannot be converted as the file asks, or a query
  // fails; errors name the file, line and property or placeholder. Only a
  // failing query (the producer database locked, busy, failing I/O, or its
  // schema changed since load) gives an Error with transient set: the
  // daemon retries those later. Everything else is permanent: the same event
  // would fail the same way again.
  Result<RenderedMessage> render(const RenderContext& ctx, BodyForm form = BodyForm::Tree);

  const std::string& path() const;
  // IDs of the declared data sources, in file order.
  std::vector<std::string> data_source_ids() const;

 private:
  struct Impl;
  explicit Mapping(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace herald::mapping
