// A small metrics registry: counters, gauges and histograms with labels,
// rendered in the Prometheus text exposition format 0.0.4.
//
// Threading: not thread-safe; heraldd updates and renders it on its event loop.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace herald::admin {

// Label names and values, in the order they are rendered.
using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { Counter, Gauge, Histogram };

class Registry {
 public:
  Registry() = default;
  // Histogram handles point into their family: a copy would share them.
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  Registry(Registry&&) = default;
  Registry& operator=(Registry&&) = default;

  // Declares a family; families render in the order they were declared.
  // Names follow Prometheus rules; counters end in _total.
  void counter(const std::string& name, const std::string& help);
  void gauge(const std::string& name, const std::string& help);
  // `bounds`: the buckets' upper bounds, ascending; +Inf is implied.
  void histogram(const std::string& name, const std::string& help, std::vector<double> bounds);

  // Updating a family that was not declared with that type is a programming error (asserted).
  void add(const std::string& name, const Labels& labels = {}, double by = 1);  // counters
  void set(const std::string& name, const Labels& labels, double value);        // gauges (counters
                                                                                // mirrored from elsewhere)
  void observe(const std::string& name, const Labels& labels, double value);    // histograms
  // Forgets every series of a family, e.g. a gauge refilled at each scrape.
  void reset(const std::string& name);

  // Handles to one series, for a caller that updates it on every delivery:
  // updating through one finds no family and compares no labels. A handle
  // stays valid until its family is reset.
  class Histogram {
    friend class Registry;
    const std::vector<double>* bounds = nullptr;  // the family's
    std::vector<uint64_t> counts;                 // per bucket, not cumulative; the last one is +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  double* counter_series(const std::string& name, const Labels& labels);
  Histogram* histogram_series(const std::string& name, const Labels& labels);
  static void observe(Histogram* series, double value);

  // The value of one counter or gauge series; 0 when it has none.
  double value(const std::string& name, const Labels& labels = {}) const;

  std::string render() const;

 private:
  struct Family {
    std::string name;
    std::string help;
    MetricType type = MetricType::Counter;
    std::vector<double> bounds;
    std::map<Labels, double> values;
    std::map<Labels, Histogram> histograms;
  };
  Family* find(const std::string& name, MetricType type);
  const Family* find(const std::string& name) const;
  void declare(const std::string& name, const std::string& help, MetricType type, std::vector<double> bounds);

  std::deque<Family> families_;  // a deque: declaring a family moves none, handles stay valid
};

// A sample value as the format writes it: integers without a fraction,
// "+Inf", "-Inf", "NaN", otherwise the shortest text that reads back the same.
std::string format_value(double v);
// Label values: backslash, double quote and line feed escaped.
std::string escape_label_value(const std::string& v);

}  // namespace herald::admin
