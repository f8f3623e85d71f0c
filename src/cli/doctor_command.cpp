// `steadfast doctor`: checks invariant 1 — every live run holds exactly one
// token (a stream entry, a delayed-set member, or, for a failed run, a
// dead-letter entry), one a worker can still be handed — and that no stream
// entry is left without its run.
// The checks and repairs are store/doctor.h; this prints them.
#include <iostream>

#include "cli/common.h"
#include "redis/client.h"
#include "store/config.h"
#include "store/doctor.h"
#include "store/store.h"

namespace steadfast::cli {

namespace asio = boost::asio;

namespace {

// The detail object of one offender, as `doctor` prints it.
Json detail_of(const store::Offender& o) {
  Json detail;
  if (o.kind == store::Offender::Kind::run) {
    detail = {{"status", o.tokens.status}, {"in_stream", o.tokens.in_stream},
              {"in_delayed", o.tokens.in_delayed}, {"in_dlq", o.tokens.in_dlq},
              {"pending", o.tokens.pending > 0}};
  } else if (o.kind == store::Offender::Kind::undeliverable) {
    detail = {{"status", o.tokens.status}, {"stream", o.stream}, {"entry", o.entry}};
  } else if (o.kind == store::Offender::Kind::child_wait) {
    detail = {{"step", o.entry}, {"child", o.stream}};
  } else {
    detail = {{"stream", o.stream}, {"entry", o.entry}};
  }
  if (!o.repaired.empty()) detail["repaired"] = o.repaired;
  return detail;
}

}  // namespace

void register_doctor(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "doctor", "Check that every live run holds exactly one token; exit 1 listing offenders");
  struct Args {
    Connection conn;
    bool repair = false;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  add_connection_options(*cmd, a->conn);
  cmd->add_flag("--repair", a->repair,
                "Apply safe fixes: re-enqueue live runs with no (deliverable) token, delete unclaimed orphan entries, "
                "wake steps waiting for a child run that ended");
  cmd->add_flag("--json", a->json, "Print a JSON report");
  cmd->final_callback([a] {
    asio::io_context io;
    redis::Client client(io.get_executor(), redis::Config::from_url(a->conn.redis_url));
    store::Store st(client, store::KeySpace::for_redis(client.config(), a->conn.key_prefix, a->conn.partitions));
    const store::DoctorReport report = run_sync(io, [&]() -> asio::awaitable<store::DoctorReport> {
      struct Close {
        redis::Client& c;
        ~Close() { c.close(); }
      } close{client};
      co_await client.wait_connected();
      co_await store::check_config(client, st.keys());
      co_return co_await store::examine(st, a->repair);
    }());
    if (a->json) {
      Json list = Json::array();
      for (const auto& o : report.offenders) {
        list.push_back({{"run", o.run_id}, {"problem", o.problem}, {"detail", detail_of(o)}});
      }
      std::cout << Json{{"runs", report.runs}, {"offenders", list}}.dump() << "\n";
    } else {
      for (const auto& o : report.offenders) {
        std::cout << "run " << o.run_id << ": " << o.problem << " " << detail_of(o).dump() << "\n";
      }
      std::cout << "checked " << report.runs << " runs: " << report.offenders.size() << " offender(s)\n";
    }
    if (!report.offenders.empty()) std::exit(kExitFailed);
  });
}

}  // namespace steadfast::cli
