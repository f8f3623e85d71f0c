#include "api/metrics.h"

#include <charconv>
#include <cmath>

namespace steadfast::api {

namespace {

void append_escaped(std::string& out, std::string_view v) {
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
}

}  // namespace

void Exposition::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  for (char c : help) {  // HELP escapes only \ and newline
    if (c == '\\') {
      out_ += "\\\\";
    } else if (c == '\n') {
      out_ += "\\n";
    } else {
      out_ += c;
    }
  }
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void Exposition::value(double v) {
  if (std::isnan(v)) {
    out_ += "NaN";
  } else if (std::isinf(v)) {
    out_ += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, ec == std::errc() ? end : buf);
  }
}

template <typename Labels>
void Exposition::sample_line(std::string_view name, const Labels& labels, double v) {
  out_ += name;
  if (labels.size() != 0) {
    out_ += '{';
    bool first = true;
    for (const auto& [k, val] : labels) {
      if (!first) out_ += ',';
      first = false;
      out_ += k;
      out_ += "=\"";
      append_escaped(out_, val);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  value(v);
  out_ += '\n';
}

void Exposition::sample(std::string_view name, double v) {
  sample_line(name, std::map<std::string, std::string>{}, v);
}

void Exposition::sample(std::string_view name,
                        std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
                        double v) {
  sample_line(name, labels, v);
}

void Exposition::sample(std::string_view name, const std::map<std::string, std::string>& labels, double v) {
  sample_line(name, labels, v);
}

void HttpMetrics::observe(std::string_view route, std::string_view method, int status, double seconds) {
  ++requests_[{std::string(route), std::string(method), status}];
  Histogram& h = durations_[std::string(route)];
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      ++h.buckets[i];
      break;
    }
  }
  ++h.count;
  h.sum += seconds;
}

void HttpMetrics::render(Exposition& out) const {
  out.family("steadfast_http_requests_total", "counter", "HTTP requests answered by the API");
  for (const auto& [key, n] : requests_) {
    const auto& [route, method, status] = key;
    const std::string code = std::to_string(status);
    out.sample("steadfast_http_requests_total", {{"route", route}, {"method", method}, {"code", code}},
               static_cast<double>(n));
  }
  out.family("steadfast_http_request_duration_seconds", "histogram",
             "Time from a request's last byte to its response, by route");
  for (const auto& [route, h] : durations_) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += h.buckets[i];
      char le[32];
      auto [end, ec] = std::to_chars(le, le + sizeof le, kBuckets[i], std::chars_format::fixed);
      out.sample("steadfast_http_request_duration_seconds_bucket",
                 {{"route", route}, {"le", std::string_view(le, ec == std::errc() ? end : le)}},
                 static_cast<double>(cumulative));
    }
    out.sample("steadfast_http_request_duration_seconds_bucket", {{"route", route}, {"le", "+Inf"}},
               static_cast<double>(h.count));
    out.sample("steadfast_http_request_duration_seconds_sum", {{"route", route}}, h.sum);
    out.sample("steadfast_http_request_duration_seconds_count", {{"route", route}},
               static_cast<double>(h.count));
  }
}

}  // namespace steadfast::api
