// steadfast_micro_bench: Google Benchmark's main, except that a benchmark that
// skipped with an error (its work was not what it claims to measure) makes the
// exit status 1, so the CTest smoke run fails instead of reporting it "fast".
#include <benchmark/benchmark.h>

#include <iostream>
#include <memory>
#include <vector>

namespace {

// Forwards to the reporter --benchmark_format asks for, counting errors.
class ErrorCountingReporter : public benchmark::BenchmarkReporter {
 public:
  explicit ErrorCountingReporter(benchmark::BenchmarkReporter* inner) : inner_(inner) {}

  bool ReportContext(const Context& context) override { return inner_->ReportContext(context); }
  void ReportRuns(const std::vector<Run>& report) override {
    for (const Run& r : report) {
      if (r.error_occurred) ++errors_;
    }
    inner_->ReportRuns(report);
  }
  void Finalize() override { inner_->Finalize(); }

  [[nodiscard]] int errors() const noexcept { return errors_; }

 private:
  std::unique_ptr<benchmark::BenchmarkReporter> inner_;
  int errors_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  ErrorCountingReporter reporter(benchmark::CreateDefaultDisplayReporter());
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  if (reporter.errors() > 0) {
    std::cerr << "steadfast_micro_bench: " << reporter.errors()
              << " benchmark(s) failed their own check (see ERROR OCCURRED above)\n";
    return 1;
  }
  return 0;
}
