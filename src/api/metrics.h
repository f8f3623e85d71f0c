// Prometheus text exposition (format 0.0.4) and the API's own request metrics.
//
// Thread-safety: HttpMetrics is used from the server's I/O thread only.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <tuple>

namespace steadfast::api {

// Builds an exposition: every metric gets its HELP and TYPE lines once,
// before its samples; label values are escaped (\\, \", \n).
class Exposition {
 public:
  // Starts a metric family; type is "counter", "gauge" or "histogram".
  void family(std::string_view name, std::string_view type, std::string_view help);
  // One sample line without labels: name value.
  void sample(std::string_view name, double value);
  // One sample line: name{labels} value. labels: {{"workflow", "a"}, ...}.
  void sample(std::string_view name, std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
              double value);
  void sample(std::string_view name, const std::map<std::string, std::string>& labels, double value);

  [[nodiscard]] const std::string& text() const noexcept { return out_; }
  [[nodiscard]] std::string take() noexcept { return std::move(out_); }

 private:
  void value(double v);
  template <typename Labels>
  void sample_line(std::string_view name, const Labels& labels, double v);
  std::string out_;
};

inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

class HttpMetrics {
 public:
  // Upper bounds of the duration histogram's buckets, in seconds (+Inf implied).
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1,    2.5};

  // route: a route template ("/v1/runs/{id}"), never a raw path.
  void observe(std::string_view route, std::string_view method, int status, double seconds);
  // steadfast_http_requests_total{route,method,code} and
  // steadfast_http_request_duration_seconds{route} (_bucket, _sum, _count).
  void render(Exposition& out) const;

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};  // non-cumulative
    std::uint64_t count = 0;
    double sum = 0;
  };
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Histogram> durations_;
};

}  // namespace steadfast::api
