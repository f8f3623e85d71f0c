// `steadfast rerun <run> --from-step S [--input JSON]`: a new run of a run's
// workflow that keeps the outputs of the steps before S (Client::rerun).
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli/common.h"
#include "engine/quote.h"
#include "store/run_id.h"
#include "steadfast/client.h"

namespace steadfast::cli {

namespace {

// --input's text: JSON, "@<file>" (the file's content) or "-" (stdin).
std::string input_text(const std::string& arg) {
  if (arg == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  if (arg.starts_with("@")) {
    std::ifstream in(arg.substr(1), std::ios::binary);
    if (!in) throw std::invalid_argument("--input: cannot read " + engine::quote(arg.substr(1), 200));
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  return arg;
}

}  // namespace

void register_rerun(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "rerun", "Start a new run of a run's workflow from one of its steps, keeping the earlier steps' outputs; prints its id");
  struct Args {
    Connection conn;
    std::string run;
    std::string from_step;
    std::string input;
  };
  auto a = std::make_shared<Args>();
  add_connection_options(*cmd, a->conn);
  cmd->add_option("run", a->run, "The run to rerun (any case); it is left as it is")->required();
  cmd->add_option("--from-step", a->from_step, "The first step to run again; the steps before it keep their outputs")
      ->required();
  cmd->add_option("--input", a->input,
                  "The new run's input: JSON, @file.json or - (stdin); default: the source run's input");
  cmd->final_callback([a] {
    std::optional<Json> input;
    if (!a->input.empty()) {
      const std::string text = input_text(a->input);
      Json j = Json::parse(text, nullptr, false);
      if (j.is_discarded()) throw std::invalid_argument("--input is not valid JSON: " + text.substr(0, 200));
      input = std::move(j);
    }
    Client client(client_options(a->conn));
    const std::string run = store::canonical_run_id(a->run);
    if (store::is_valid_run_id(run) && !client.get_run(run)) {
      std::cerr << "steadfast: no run " << run << " (never submitted, or expired)\n";
      std::exit(kExitFailed);
    }
    std::cout << client.rerun(run, a->from_step, input) << "\n";
  });
}

}  // namespace steadfast::cli
