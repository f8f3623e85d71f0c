// `steadfast submit`, `status`, `cancel`, `signal`: one run at a time (`cancel --all`: a bulk job, cli/bulk_command.h).
#include <algorithm>
#include <fstream>
#include <iostream>

#include "cli/batch_file.h"
#include "cli/bulk_command.h"
#include "cli/common.h"
#include "cli/filter_flags.h"
#include "cli/run_id_arg.h"
#include "cli/run_input.h"
#include "cli/text_table.h"
#include "config/workflows_file.h"
#include "engine/duration.h"
#include "engine/quote.h"
#include "engine/rfc3339.h"
#include "engine/run_metadata.h"
#include "engine/start_time.h"
#include "steadfast/client.h"

namespace steadfast::cli {

namespace {

// The run, then its timeline: one aligned line per step (name, what it
// needs when the run's steps branch, status, attempts, started, duration,
// worker, error), then what it waits for.
void print_human(const RunInfo& run) {
  const Json j = to_json(run);
  TextTable head;
  head.add({"run " + run.id + " (" + run.workflow + "): " + run.status});
  head.add({"  created " + j["created_at"].get<std::string>() + ", updated " + j["updated_at"].get<std::string>() +
            (run.run_at_ms > 0 ? ", run at " + j["run_at"].get<std::string>() : "")});
  if (!run.metadata.empty()) {
    std::string meta;
    for (const auto& [k, v] : run.metadata) meta += (meta.empty() ? "" : " ") + k + "=" + v;
    head.add({"  metadata " + meta});
  }
  if (!run.parent.empty()) head.add({"  child of run " + run.parent + " (step " + run.parent_step + ")"});
  head.print(std::cout);
  // A run whose steps branch shows what each step needs; a chain does not.
  bool graph = false;
  for (std::size_t i = 0; i < run.steps.size(); ++i) {
    const std::vector<std::string> chain = i == 0 ? std::vector<std::string>{}
                                                  : std::vector<std::string>{run.steps[i - 1].name};
    graph = graph || run.steps[i].needs != chain;
  }
  TextTable steps(2);
  std::vector<std::string> header{"STEP", "STATUS", "ATTEMPTS", "STARTED", "DURATION", "WORKER", "ERROR"};
  if (graph) header.insert(header.begin() + 1, "NEEDS");
  steps.add(header);
  for (const StepInfo& s : run.steps) {
    const bool finished = s.started_at_ms > 0 && s.finished_at_ms >= s.started_at_ms;
    // A map step shows its items: "running (3/20 items)".
    std::string status = s.status;
    if (s.items.is_object()) {
      const std::int64_t done = s.items.value("completed", std::int64_t{0}) + s.items.value("failed", std::int64_t{0});
      status += " (" + std::to_string(done) + "/" + std::to_string(s.items.value("total", std::int64_t{0})) + " items)";
    }
    // A child workflow step names its child: "waiting (child 01M...)".
    if (!s.child.empty()) status += " (child " + s.child + ")";
    std::vector<std::string> row{s.name, status, std::to_string(s.attempts),
                                 s.started_at_ms > 0 ? engine::rfc3339_ms(s.started_at_ms) : "-",
                                 finished ? format_elapsed_ms(s.finished_at_ms - s.started_at_ms) : "-",
                                 s.worker.empty() ? "-" : s.worker, s.error};  // the error may echo run input: escaped
    if (graph) {
      std::string needs;
      for (const std::string& n : s.needs) needs += (needs.empty() ? "" : ",") + n;
      row.insert(row.begin() + 1, needs.empty() ? "-" : needs);
    }
    steps.add(row);
  }
  steps.print(std::cout);
  if (!run.waiting_for.is_null()) {
    TextTable wait;
    wait.add({"  waiting_for: " + describe_waiting_for(run.waiting_for)});
    wait.print(std::cout);
  }
}

// `submit W --batch FILE`: the file read and checked whole first (a bad line
// submits nothing), then Client::submit_many per 1,000 lines.
// The client's options with the submit's replica wait.
ClientOptions submit_options(const Connection& conn, const ReplicaWaitArgs& wait) {
  ClientOptions o = client_options(conn);
  o.wait_replicas = wait.replicas;
  o.wait_replicas_timeout = config::parse_duration(wait.timeout);
  return o;
}

void submit_batch(const Connection& conn, const ReplicaWaitArgs& wait, const std::string& workflow,
                  const std::string& path) {
  std::vector<BatchLine> lines;
  if (path == "-") {
    lines = read_batch(std::cin, "stdin");
  } else {
    std::ifstream file(path);
    if (!file) throw std::invalid_argument("--batch file " + engine::quote(path, 200) + ": cannot open");
    lines = read_batch(file, engine::quote(path, 200));
  }
  Client client(submit_options(conn, wait));
  std::size_t created = 0, repeated = 0, refused = 0;
  std::string not_replicated;  // the first such error; the batch goes on, the exit status says it
  constexpr std::size_t kPerCall = 1000;
  for (std::size_t first = 0; first < lines.size(); first += kPerCall) {
    const std::size_t end = std::min(lines.size(), first + kPerCall);
    std::vector<SubmitItem> items;
    for (std::size_t i = first; i < end; ++i) items.push_back(lines[i].item);
    std::vector<BatchSubmitted> out;
    try {
      out = client.submit_many(workflow, items);
    } catch (const NotReplicatedError& e) {
      out = e.runs();
      if (not_replicated.empty()) not_replicated = e.what();
    }
    for (std::size_t i = first; i < end; ++i) {
      const BatchSubmitted& r = out[i - first];
      if (!r.error.empty()) {
        ++refused;
        std::cout << "-\n";
        std::cerr << "steadfast: line " << lines[i].line << ": " << engine::printable(r.error) << "\n";
      } else {
        ++(r.created ? created : repeated);
        std::cout << r.run_id << "\n";
      }
    }
  }
  std::cout.flush();
  std::cerr << "steadfast: " << created << " runs created, " << repeated << " repeats of earlier submits, " << refused
            << " refused\n";
  if (!not_replicated.empty()) std::cerr << "steadfast: not replicated in time: " << not_replicated << "\n";
  if (refused > 0 || !not_replicated.empty()) std::exit(kExitFailed);
}

}  // namespace

void register_runs(CLI::App& app) {
  {
    auto* cmd = app.add_subcommand("submit", "Submit a run; prints its id");
    struct Args {
      Connection conn;
      std::string workflow;
      std::string input = "{}";
      std::string idempotency_key;
      std::vector<std::string> meta;
      std::string delay;
      std::string at;
      std::string batch;
      int priority = kDefaultPriority;
      bool wait = false;
      std::string timeout = "10m";
      ReplicaWaitArgs replica_wait;
    };
    auto a = std::make_shared<Args>();
    add_connection_options(*cmd, a->conn);
    add_replica_wait_options(*cmd, a->replica_wait);
    cmd->add_option("workflow", a->workflow, "Workflow name")->required();
    cmd->add_option("--input", a->input,
                    "The run's input: JSON, or @FILE to read it from a file, or - to read it from stdin")
        ->capture_default_str();
    cmd->add_option("--idempotency-key", a->idempotency_key,
                    "A repeat of this workflow with this key and input within 24h returns the first run "
                    "(said on stderr); with another input it fails (exit 1)");
    cmd->add_option("--meta", a->meta,
                    "A metadata pair KEY=VALUE to find the run by (steadfast runs --meta); repeat for more (16 at most)");
    cmd->add_option("--delay", a->delay,
                    "Start the run after this long (a duration: 10m, 2h; at most 8760h): it is scheduled "
                    "meanwhile, in no queue, and can be cancelled");
    cmd->add_option("--at", a->at,
                    "Start the run at this time (RFC 3339, e.g. 2026-12-24T08:00:00Z; by Redis' clock; "
                    "at most 365 days ahead); not with --delay");
    cmd->add_option("--priority", a->priority,
                    "0 (lowest) to 9 (highest): on a queue declared with priorities or fairness, a higher one "
                    "is handed out first (elsewhere only recorded)")
        ->check(CLI::Range(kMinPriority, kMaxPriority))
        ->capture_default_str();
    cmd->add_option("--batch", a->batch,
                    "Submit many runs at once from FILE.jsonl (- = stdin): one JSON object per line, "
                    "{\"input\", \"metadata\", \"priority\", \"delay\" or \"run_at\", \"idempotency_key\"} (all optional); "
                    "prints one run id per line (- for a refused one, named on stderr); exit 1 if any was refused");
    cmd->add_flag("--wait", a->wait,
                  "Wait for the run to end; print its status JSON; exit 0 if completed, 1 if failed or "
                  "cancelled, 3 if --timeout passed first");
    cmd->add_option("--timeout", a->timeout, "With --wait: how long to wait")->capture_default_str();
    cmd->final_callback([a, cmd] {
      if (!a->batch.empty()) {
        for (const char* flag : {"--input", "--meta", "--delay", "--at", "--idempotency-key", "--wait", "--priority"}) {
          if (cmd->count(flag) > 0) {
            throw std::invalid_argument(std::string("--batch takes every run from its file: not with ") + flag);
          }
        }
        submit_batch(a->conn, a->replica_wait, a->workflow, a->batch);
        return;
      }
      // Read and checked before connecting: bad input submits nothing.
      const Json input = read_run_input(a->input, std::cin);
      SubmitOptions o;
      if (!a->delay.empty() && !a->at.empty()) throw std::invalid_argument("give --delay or --at, not both");
      try {
        const engine::StartTime start = engine::parse_start_time(a->delay, a->at);
        o.delay = start.delay;
        if (start.run_at_ms > 0) o.run_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(start.run_at_ms));
      } catch (const engine::StartTimeError& e) {
        throw std::invalid_argument((e.field == "/delay" ? "--delay: " : "--at: ") +
                                    std::string(e.what()));
      }
      Client client(submit_options(a->conn, a->replica_wait));
      o.idempotency_key = a->idempotency_key;
      o.priority = a->priority;
      for (const std::string& m : a->meta) {
        auto [k, v] = engine::parse_metadata_pair(m);
        if (o.metadata.contains(k)) throw std::invalid_argument("--meta " + k + " given twice");
        o.metadata[k] = v;
      }
      Submitted s;
      try {
        s = client.submit(a->workflow, input, o);
      } catch (const NotReplicatedError& e) {
        std::cout << e.run_id() << "\n";  // it may exist: a script can retry with the same key
        std::cerr << "steadfast: " << e.what() << "\n";
        std::exit(kExitFailed);
      }
      if (!s.created) {
        std::cerr << "steadfast: a repeat: idempotency key " << engine::quote(a->idempotency_key, 80)
                  << " was used before for workflow '" << a->workflow << "' with this input; no new run, "
                  << "this is the first submit's run (a key lives " << engine::format_duration(o.idempotency_ttl)
                  << ")\n";
      }
      if (s.run_at_ms > 0) {
        std::cerr << "steadfast: run " << s.run_id << " is scheduled to start at " << engine::rfc3339_ms(s.run_at_ms)
                  << "\n";
      }
      if (!a->wait) {
        std::cout << s.run_id << "\n";
        return;
      }
      RunInfo run;
      try {
        run = client.wait(s.run_id, config::parse_duration(a->timeout));
      } catch (const WaitTimeoutError& e) {
        std::cerr << "steadfast: " << e.what() << " (--timeout " << a->timeout << "); it goes on: steadfast status "
                  << s.run_id << "\n";
        std::exit(kExitTimedOut);
      }
      std::cout << to_json(run).dump() << "\n";
      if (run.status != "completed") std::exit(kExitFailed);
    });
  }
  {
    auto* cmd = app.add_subcommand("status", "Show a run");
    struct Args {
      Connection conn;
      std::string run;
      bool json = false;
      std::string items;  // a map step: page through its items instead
      std::int64_t offset = 0;
      std::int64_t limit = 100;
    };
    auto a = std::make_shared<Args>();
    add_connection_options(*cmd, a->conn);
    cmd->add_option("run", a->run, "Run id (any case)")->required();
    cmd->add_flag("--json", a->json, "Print JSON");
    cmd->add_option("--items", a->items, "A map step of the run: list its items (index, status, attempts, output, error)");
    cmd->add_option("--offset", a->offset, "With --items: the first item's index")
        ->capture_default_str()
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{kMaxMapItems}));
    cmd->add_option("--limit", a->limit, "With --items: how many items")
        ->capture_default_str()
        ->check(CLI::Range(std::int64_t{1}, kMaxItemsPage));
    cmd->final_callback([a] {
      const std::string id = run_id_arg(a->run);
      Client client(client_options(a->conn));
      if (!a->items.empty()) {
        std::optional<MapItemsPage> page;
        try {
          page = client.map_items(id, a->items, a->offset, a->limit);
        } catch (const std::invalid_argument& e) {
          std::cerr << "steadfast: " << engine::printable(e.what()) << "\n";
          std::exit(kExitFailed);
        }
        if (!page) {
          std::cerr << "steadfast: no run " << id << " (never submitted, or expired)\n";
          std::exit(kExitFailed);
        }
        if (a->json) {
          std::cout << to_json(*page).dump() << "\n";
          return;
        }
        TextTable t;
        t.add({"INDEX", "STATUS", "ATTEMPTS", "OUTPUT", "ERROR"});
        for (const MapItemInfo& i : page->items) {
          t.add({std::to_string(i.index), i.status, std::to_string(i.attempts),
                 i.output.is_null() ? "-" : engine::quote(i.output.dump(), 60), i.error.empty() ? "-" : i.error});
        }
        t.print(std::cout);
        std::cout << "items " << page->offset << ".." << page->offset + static_cast<std::int64_t>(page->items.size())
                  << " of " << page->total << "\n";
        return;
      }
      auto run = client.get_run(id);
      if (!run) {
        std::cerr << "steadfast: no run " << id << " (never submitted, or expired)\n";
        std::exit(kExitFailed);
      }
      if (a->json) {
        std::cout << to_json(*run).dump() << "\n";
      } else {
        print_human(*run);
      }
    });
  }
  {
    auto* cmd = app.add_subcommand("cancel", "Cancel a run (a running step is told to stop), or with --all every run "
                                             "matching the filter flags (a bulk job, see `steadfast bulk`)");
    struct Args {
      Connection conn;
      std::string run;
      bool all = false;
      bool json = false;
      FilterFlags filter;
    };
    auto a = std::make_shared<Args>();
    add_connection_options(*cmd, a->conn);
    cmd->add_option("run", a->run, "Run id (any case)");
    cmd->add_flag("--all", a->all,
                  "Cancel every run matching the filter flags; at least one flag is required (runs that "
                  "already ended are skipped)");
    add_filter_options(*cmd, a->filter, true);
    cmd->add_flag("--json", a->json, "With --all: print the finished job as JSON");
    cmd->final_callback([a] {
      if (a->all) {
        if (!a->run.empty()) throw std::invalid_argument("give a run id or --all, not both");
        if (!a->filter.any()) {
          throw std::invalid_argument("cancel --all needs a filter (--workflow, --status, --meta, --created-after, "
                                      "--created-before): it would cancel every run");
        }
        run_bulk(a->conn, engine::BulkRequest{engine::BulkAction::cancel, a->filter.filter()}, a->json);
        return;
      }
      if (a->run.empty()) throw std::invalid_argument("give a run id, or --all with a filter");
      if (a->filter.any()) throw std::invalid_argument("the filter flags go with --all");
      const std::string id = run_id_arg(a->run);
      Client client(client_options(a->conn));
      // The words of the API's answer (POST /v1/runs/{id}/cancel), not the store's codes.
      const std::string r = client.cancel(id);
      if (r == "missing") {
        std::cerr << "steadfast: no run " << id << " (never submitted, or expired)\n";
        std::exit(kExitFailed);
      }
      if (r.starts_with("terminal:")) {
        std::cerr << "steadfast: run " << id << " already " << r.substr(9) << ": nothing to cancel\n";
        std::exit(kExitFailed);
      }
      std::cout << r << "\n";  // "cancelled" (it was waiting) or "cancelling" (its worker stops it)
    });
  }
  {
    auto* cmd = app.add_subcommand("signal", "Send a signal to a run: the step waiting on its name (kind: wait, "
                                             "with: {signal: NAME}) completes with the data as its output, or the "
                                             "first one to wait on it later takes it");
    struct Args {
      Connection conn;
      std::string run;
      std::string name;
      std::string data;
      std::string key;
    };
    auto a = std::make_shared<Args>();
    add_connection_options(*cmd, a->conn);
    cmd->add_option("run", a->run, "Run id (any case)")->required();
    cmd->add_option("name", a->name, "Signal name, as the wait step names it")->required();
    cmd->add_option("--data", a->data, "The signal's body as JSON (at most 64 KiB); default null");
    cmd->add_option("--idempotency-key", a->key, "Send it at most once: a repeat with this key changes nothing");
    cmd->final_callback([a] {
      const std::string id = run_id_arg(a->run);
      Json body;
      if (!a->data.empty()) {
        body = Json::parse(a->data, nullptr, false);
        if (body.is_discarded()) throw std::invalid_argument("--data is not valid JSON: " + engine::quote(a->data, 80));
      }
      Client client(client_options(a->conn));
      const std::string r = client.signal(id, a->name, body, a->key);
      if (r == "missing") {
        std::cerr << "steadfast: no run " << id << " (never submitted, or expired)\n";
        std::exit(kExitFailed);
      }
      if (r.starts_with("ended:")) {
        std::cerr << "steadfast: run " << id << " already " << r.substr(6) << ": the signal was not sent\n";
        std::exit(kExitFailed);
      }
      if (r.starts_with("unknown:") || r.starts_with("full:")) {
        std::cerr << "steadfast: " << r.substr(r.find(':') + 1) << "\n";
        std::exit(kExitFailed);
      }
      std::cout << r << "\n";  // "delivered", "kept" or "repeat"
    });
  }
}

}  // namespace steadfast::cli
