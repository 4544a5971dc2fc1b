// The registry's Prometheus text output, byte for byte.
#include "admin/metrics.h"

#include <gtest/gtest.h>

#include <limits>

namespace herald::admin {
namespace {

TEST(MetricsTest, CountersAndGaugesRenderInDeclarationOrderWithSortedSeries) {
  Registry r;
  r.counter("x_requests_total", "Requests.");
  r.gauge("x_temperature", "Degrees.");
  r.add("x_requests_total", {{"code", "500"}}, 2);
  r.add("x_requests_total", {{"code", "200"}});
  r.add("x_requests_total", {{"code", "200"}}, 3);
  r.set("x_temperature", {}, 21.5);
  EXPECT_EQ(r.render(),
            "# HELP x_requests_total Requests.\n"
            "# TYPE x_requests_total counter\n"
            "x_requests_total{code=\"200\"} 4\n"
            "x_requests_total{code=\"500\"} 2\n"
            "# HELP x_temperature Degrees.\n"
            "# TYPE x_temperature gauge\n"
            "x_temperature 21.5\n");
  EXPECT_EQ(r.value("x_requests_total", {{"code", "200"}}), 4);
  EXPECT_EQ(r.value("x_requests_total", {{"code", "404"}}), 0);
}

TEST(MetricsTest, LabelValuesAndHelpAreEscaped) {
  Registry r;
  r.gauge("x_info", "Line one\nback\\slash \"quoted\".");
  r.set("x_info", {{"path", "C:\\dir"}, {"say", "a \"b\"\nc"}}, 1);
  EXPECT_EQ(r.render(),
            "# HELP x_info Line one\\nback\\\\slash \"quoted\".\n"
            "# TYPE x_info gauge\n"
            "x_info{path=\"C:\\\\dir\",say=\"a \\\"b\\\"\\nc\"} 1\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry r;
  r.histogram("x_latency_seconds", "Latency.", {0.1, 1, 10});
  for (double v : {0.05, 0.1, 0.5, 3.0, 100.0}) r.observe("x_latency_seconds", {{"ep", "a"}}, v);
  EXPECT_EQ(r.render(),
            "# HELP x_latency_seconds Latency.\n"
            "# TYPE x_latency_seconds histogram\n"
            "x_latency_seconds_bucket{ep=\"a\",le=\"0.1\"} 2\n"  // 0.1 itself is "less or equal"
            "x_latency_seconds_bucket{ep=\"a\",le=\"1\"} 3\n"
            "x_latency_seconds_bucket{ep=\"a\",le=\"10\"} 4\n"
            "x_latency_seconds_bucket{ep=\"a\",le=\"+Inf\"} 5\n"
            "x_latency_seconds_sum{ep=\"a\"} 103.65\n"
            "x_latency_seconds_count{ep=\"a\"} 5\n");
}

TEST(MetricsTest, UnlabelledHistogramPutsLeAlone) {
  Registry r;
  r.histogram("x_h", "H.", {1});
  r.observe("x_h", {}, 2);
  EXPECT_EQ(r.render(),
            "# HELP x_h H.\n# TYPE x_h histogram\n"
            "x_h_bucket{le=\"1\"} 0\nx_h_bucket{le=\"+Inf\"} 1\nx_h_sum 2\nx_h_count 1\n");
}

TEST(MetricsTest, SeriesHandlesUpdateWhatTheLabelsName) {
  Registry r;
  r.counter("x_requests_total", "Requests.");
  r.histogram("x_latency_seconds", "Latency.", {0.1, 1});
  double* ok = r.counter_series("x_requests_total", {{"code", "200"}});
  Registry::Histogram* a = r.histogram_series("x_latency_seconds", {{"ep", "a"}});
  // Families declared later move none of the earlier ones.
  for (int i = 0; i < 40; ++i) r.gauge("x_gauge_" + std::to_string(i), "G.");
  *ok += 2;
  r.add("x_requests_total", {{"code", "200"}});
  EXPECT_EQ(r.counter_series("x_requests_total", {{"code", "200"}}), ok);
  Registry::observe(a, 0.5);
  r.observe("x_latency_seconds", {{"ep", "a"}}, 0.05);
  Registry::observe(nullptr, 1);  // a family never declared gives no handle; updating it is a no-op
  EXPECT_EQ(r.value("x_requests_total", {{"code", "200"}}), 3);
  const std::string out = r.render();
  EXPECT_NE(out.find("x_latency_seconds_bucket{ep=\"a\",le=\"0.1\"} 1\n"
                     "x_latency_seconds_bucket{ep=\"a\",le=\"1\"} 2\n"
                     "x_latency_seconds_bucket{ep=\"a\",le=\"+Inf\"} 2\n"
                     "x_latency_seconds_sum{ep=\"a\"} 0.55\n"
                     "x_latency_seconds_count{ep=\"a\"} 2\n"),
            std::string::npos)
      << out;
}

TEST(MetricsTest, ResetDropsAGaugesSeries) {
  Registry r;
  r.gauge("x_g", "G.");
  r.set("x_g", {{"ep", "old"}}, 3);
  r.reset("x_g");
  r.set("x_g", {{"ep", "new"}}, 1);
  EXPECT_EQ(r.render(), "# HELP x_g G.\n# TYPE x_g gauge\nx_g{ep=\"new\"} 1\n");
}

TEST(MetricsTest, ValuesFormatAsThePrometheusParserReadsThem) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(1e6), "1000000");
  EXPECT_EQ(format_value(0.005), "0.005");
  EXPECT_EQ(format_value(-2.5), "-2.5");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(escape_label_value("plain"), "plain");
}

}  // namespace
}  // namespace herald::admin
