// The README's C++ example, built by CI. Usage: greet [REDIS_URL]
// Runs a one-step workflow with an in-process worker and prints the result.
#include <steadfast/client.h>
#include <steadfast/worker.h>

#include <iostream>
#include <thread>

int main(int argc, char** argv) {
  const std::string url = argc > 1 ? argv[1] : "redis://127.0.0.1:6379";

  steadfast::Workflow wf("greet");
  wf.step("hello", [](steadfast::StepContext& ctx) -> steadfast::StepResult {
    if (ctx.cancelled()) return steadfast::StepError::retryable("cancelled");
    return steadfast::Json{{"greeting", "hello " + ctx.input().value("name", "world")}};
  });

  steadfast::WorkerOptions options;
  options.redis_url = url;
  options.handle_signals = false;  // the example stops the worker itself
  steadfast::Worker worker(options, {wf});
  std::thread t([&] { worker.run(); });

  steadfast::ClientOptions client_options;
  client_options.redis_url = url;
  steadfast::Client client(client_options);
  client.register_workflow(wf);
  auto run = client.submit("greet", {{"name", "Ada"}});
  auto done = client.wait(run.run_id, std::chrono::seconds(10));
  std::cout << done.status << " " << done.steps.at(0).output.dump() << "\n";

  worker.stop();
  t.join();
  return done.status == "completed" ? 0 : 1;
}
