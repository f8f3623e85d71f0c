// The CLI's human text: aligned, escaped tables; elapsed times; --input sources.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "cli/batch_file.h"
#include "cli/run_input.h"
#include "cli/text_table.h"

namespace steadfast::cli {
namespace {

std::string print(const TextTable& t) {
  std::ostringstream out;
  t.print(out);
  return out.str();
}

TEST(TextTable, AlignsColumnsAndLeavesNoTrailingBlanks) {
  TextTable t(2);
  t.add({"STEP", "STATUS", "ERROR"});
  t.add({"a", "completed", ""});
  t.add({"long-name", "failed", "boom"});
  EXPECT_EQ(print(t),
            "  STEP       STATUS     ERROR\n"
            "  a          completed\n"
            "  long-name  failed     boom\n");
}

TEST(TextTable, EscapesControlCharactersSoARowStaysOneUncolouredLine) {
  TextTable t;
  t.add({"wf\nforged row", "\x1b[31mred", "ok"});
  t.add({"x", "y", "z"});
  const std::string out = print(t);
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  EXPECT_EQ(out,
            "wf\\x0aforged row  \\x1b[31mred  ok\n"
            "x                 y            z\n");
}

TEST(TextTable, WidthCountsCodePointsNotBytes) {
  TextTable t;
  t.add({"é", "1"});
  t.add({"ab", "2"});
  EXPECT_EQ(print(t), "é   1\nab  2\n");
}

TEST(FormatElapsed, Table) {
  const std::pair<std::int64_t, const char*> cases[] = {
      {-5, "0ms"},          {0, "0ms"},           {850, "850ms"},       {999, "999ms"},
      {1000, "1.0s"},       {1234, "1.2s"},       {59'999, "59.9s"},    {60'000, "1m00s"},
      {123'000, "2m03s"},   {3'599'999, "59m59s"}, {3'600'000, "1h00m"}, {3'720'000, "1h02m"},
      {90'000'000, "25h00m"},
  };
  for (const auto& [ms, want] : cases) EXPECT_EQ(format_elapsed_ms(ms), want) << ms;
}

TEST(DescribeWaitingFor, KindUntilThenFields) {
  EXPECT_EQ(describe_waiting_for(Json()), "");
  EXPECT_EQ(describe_waiting_for(Json{{"kind", "retry"}, {"until", "2026-12-02T10:00:00.000Z"}}),
            "retry until 2026-12-02T10:00:00.000Z");
  EXPECT_EQ(describe_waiting_for(Json{{"kind", "no_worker"}, {"until", nullptr}, {"queue", "llm"}}),
            "no_worker queue=llm");
}

class RunInput : public ::testing::Test {
 protected:
  // A folder of this process's own (mkdtemp): ctest runs each test in a
  // process of its own, two at once, and under ASan two processes may get the
  // same heap addresses and the same gtest seed, so a name made of those
  // collided and one test removed the other's files.
  std::filesystem::path dir_;
  void SetUp() override {
    std::string name = (std::filesystem::temp_directory_path() / "steadfast-cli-text-XXXXXX").string();
    ASSERT_NE(::mkdtemp(name.data()), nullptr) << std::strerror(errno);
    dir_ = name;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const auto p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
};

std::string error_of(std::string_view arg, std::istream& in) {
  try {
    (void)read_run_input(arg, in);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no error)";
}

TEST_F(RunInput, LiteralFileAndStdin) {
  std::istringstream none;
  EXPECT_EQ(read_run_input(R"({"a":1})", none), (Json{{"a", 1}}));
  EXPECT_EQ(read_run_input("@" + write("in.json", R"({"b": [1, 2]})"), none), (Json{{"b", {1, 2}}}));
  std::istringstream in("  {\"c\": true}\n");
  EXPECT_EQ(read_run_input("-", in), (Json{{"c", true}}));
}

TEST_F(RunInput, ErrorsNameWhatIsWrong) {
  std::istringstream none;
  const std::string missing = (dir_ / "nope.json").string();
  EXPECT_EQ(error_of("@" + missing, none), "--input file '" + missing + "': cannot open: No such file or directory");
  EXPECT_EQ(error_of("@" + dir_.string(), none), "--input file '" + dir_.string() + "': cannot read: Is a directory");
  EXPECT_EQ(error_of("@", none), "--input @ needs a file path after '@' (--input @input.json)");
  const std::string bad = write("bad.json", "{\"a\": 1,\n  oops}");
  EXPECT_EQ(error_of("@" + bad, none).rfind("--input file '" + bad + "' is not JSON: parse error at line 2", 0),
            0u)
      << error_of("@" + bad, none);
  const std::string empty_file = write("empty.json", " \n");
  EXPECT_EQ(error_of("@" + empty_file, none),
            "--input file '" + empty_file + "' is empty: the run's input must be JSON (for none: '{}')");
  std::istringstream huge(std::string((8u << 20) + 1, ' '));
  EXPECT_EQ(error_of("-", huge), "--input - (stdin) is larger than 8 MiB (a run's input is at most 1 MiB of JSON)");
  EXPECT_EQ(error_of("@/dev/zero", none), "--input file '/dev/zero' is larger than 8 MiB (a run's input is at most 1 MiB of JSON)");
  std::istringstream empty("\n");
  EXPECT_EQ(error_of("-", empty), "--input - (stdin) is empty: the run's input must be JSON (for none: '{}')");
  EXPECT_EQ(error_of("{a:1}", none).rfind("--input is not JSON: parse error at line 1", 0), 0u)
      << error_of("{a:1}", none);
}

// submit --batch FILE.jsonl: every non-blank line one run; the first bad line
// stops the whole file, named with its number.
TEST(ReadBatch, OneRunPerLineWithItsOptions) {
  std::istringstream in(
      "{\"input\": {\"n\": 1}}\n\n  \n{\"metadata\": {\"c\": \"acme\"}, \"delay\": \"2m\", \"idempotency_key\": \"k\"}\n"
      "{\"run_at\": \"2026-12-24T08:00:00Z\"}");
  const std::vector<BatchLine> lines = read_batch(in, "f.jsonl");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].line, 1u);
  EXPECT_EQ(lines[0].item.input, (Json{{"n", 1}}));
  EXPECT_EQ(lines[1].line, 4u);
  EXPECT_EQ(lines[1].item.input, Json::object()) << "no input = an empty object, as for the API";
  EXPECT_EQ(lines[1].item.options.metadata.at("c"), "acme");
  EXPECT_EQ(lines[1].item.options.delay, std::chrono::minutes(2));
  EXPECT_EQ(lines[1].item.options.idempotency_key, "k");
  ASSERT_TRUE(lines[2].item.options.run_at);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(lines[2].item.options.run_at->time_since_epoch()).count(),
            1'798'099'200'000);
}

TEST(ReadBatch, ABadLineIsNamed) {
  const struct {
    const char* text;
    const char* message;
  } cases[] = {
      {"{\"input\": 1}\n{nope", "--batch f line 2 is not JSON: "},
      {"[1, 2]", "--batch f line 1: is not a JSON object"},
      {"{\"colour\": 1}", "--batch f line 1: unknown member 'colour'"},
      {"{\"delay\": \"-1m\"}", "--batch f line 1: delay: "},
      {"{\"metadata\": {\"k\": 1}}", "--batch f line 1: "},
      {"{\"idempotency_key\": 5}", "--batch f line 1: idempotency_key must be a string"},
      {"\n\n", "--batch f holds no runs"},
  };
  for (const auto& c : cases) {
    std::istringstream in(c.text);
    try {
      (void)read_batch(in, "f");
      ADD_FAILURE() << c.text;
    } catch (const std::invalid_argument& e) {
      EXPECT_TRUE(std::string(e.what()).starts_with(c.message)) << e.what();
    }
  }
}

}  // namespace
}  // namespace steadfast::cli
