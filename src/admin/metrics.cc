#include "admin/metrics.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>

namespace herald::admin {
namespace {

const char* type_name(MetricType t) {
  switch (t) {
    case MetricType::Counter:
      return "counter";
    case MetricType::Gauge:
      return "gauge";
    case MetricType::Histogram:
      return "histogram";
  }
  return "untyped";
}

// HELP text escapes only backslash and line feed.
std::string escape_help(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void append_series(std::string& out, const std::string& name, const Labels& labels, const std::string* le,
                   const std::string& value) {
  out += name;
  if (!labels.empty() || le) {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out += ',';
      first = false;
      out += k + "=\"" + escape_label_value(v) + "\"";
    }
    if (le) out += std::string(first ? "" : ",") + "le=\"" + *le + "\"";
    out += '}';
  }
  out += ' ' + value + '\n';
}

}  // namespace

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Counts print as integers, not "1e+06".
  if (v == std::trunc(v) && std::fabs(v) < 9007199254740992.0) {
    return std::to_string(static_cast<int64_t>(v));
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string escape_label_value(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void Registry::declare(const std::string& name, const std::string& help, MetricType type,
                       std::vector<double> bounds) {
  assert(!find(name));
  Family f;
  f.name = name;
  f.help = help;
  f.type = type;
  f.bounds = std::move(bounds);
  families_.push_back(std::move(f));
}

void Registry::counter(const std::string& name, const std::string& help) {
  declare(name, help, MetricType::Counter, {});
}

void Registry::gauge(const std::string& name, const std::string& help) {
  declare(name, help, MetricType::Gauge, {});
}

void Registry::histogram(const std::string& name, const std::string& help, std::vector<double> bounds) {
  assert(std::is_sorted(bounds.begin(), bounds.end()));
  declare(name, help, MetricType::Histogram, std::move(bounds));
}

Registry::Family* Registry::find(const std::string& name, MetricType type) {
  for (auto& f : families_) {
    if (f.name == name) {
      assert(f.type == type);
      return f.type == type ? &f : nullptr;
    }
  }
  assert(false && "metric family not declared");
  return nullptr;
}

const Registry::Family* Registry::find(const std::string& name) const {
  for (const auto& f : families_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

void Registry::add(const std::string& name, const Labels& labels, double by) {
  if (Family* f = find(name, MetricType::Counter)) f->values[labels] += by;
}

void Registry::set(const std::string& name, const Labels& labels, double value) {
  const Family* known = find(name);
  MetricType type = known && known->type == MetricType::Counter ? MetricType::Counter : MetricType::Gauge;
  if (Family* f = find(name, type)) f->values[labels] = value;
}

void Registry::observe(const std::string& name, const Labels& labels, double value) {
  observe(histogram_series(name, labels), value);
}

double* Registry::counter_series(const std::string& name, const Labels& labels) {
  Family* f = find(name, MetricType::Counter);
  return f ? &f->values[labels] : nullptr;
}

Registry::Histogram* Registry::histogram_series(const std::string& name, const Labels& labels) {
  Family* f = find(name, MetricType::Histogram);
  if (!f) return nullptr;
  Histogram& b = f->histograms[labels];
  if (b.counts.empty()) {
    b.bounds = &f->bounds;
    b.counts.assign(f->bounds.size() + 1, 0);
  }
  return &b;
}

void Registry::observe(Histogram* b, double value) {
  if (!b) return;
  // The first bucket whose upper bound holds the value (le: less or equal).
  const std::vector<double>& bounds = *b->bounds;
  size_t i = std::lower_bound(bounds.begin(), bounds.end(), value) - bounds.begin();
  ++b->counts[i];
  b->sum += value;
  ++b->count;
}

void Registry::reset(const std::string& name) {
  for (auto& f : families_) {
    if (f.name == name) {
      f.values.clear();
      f.histograms.clear();
    }
  }
}

double Registry::value(const std::string& name, const Labels& labels) const {
  const Family* f = find(name);
  if (!f) return 0;
  auto it = f->values.find(labels);
  return it == f->values.end() ? 0 : it->second;
}

std::string Registry::render() const {
  std::string out;
  for (const auto& f : families_) {
    out += "# HELP " + f.name + " " + escape_help(f.help) + "\n";
    out += "# TYPE " + f.name + " " + type_name(f.type) + "\n";
    if (f.type != MetricType::Histogram) {
      for (const auto& [labels, v] : f.values) append_series(out, f.name, labels, nullptr, format_value(v));
      continue;
    }
    for (const auto& [labels, b] : f.histograms) {
      uint64_t cumulative = 0;
      for (size_t i = 0; i <= f.bounds.size(); ++i) {
        cumulative += b.counts[i];
        std::string le = i < f.bounds.size() ? format_value(f.bounds[i]) : "+Inf";
        append_series(out, f.name + "_bucket", labels, &le, std::to_string(cumulative));
      }
      append_series(out, f.name + "_sum", labels, nullptr, format_value(b.sum));
      append_series(out, f.name + "_count", labels, nullptr, std::to_string(b.count));
    }
  }
  return out;
}

}  // namespace herald::admin
