#include "config/workflows_file.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "config/yaml_json.h"
#include "engine/quote.h"
#include "engine/json_schema.h"
#include "engine/template.h"
#include "engine/workflow_graph.h"
#include "engine/time_zone.h"

namespace steadfast::config {
namespace {

using engine::quote;

constexpr std::int64_t kMaxAttempts = 1'000'000;
constexpr std::int64_t kMaxRateLimited = 1'000'000;

struct Entry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Scalar: return "a single value " + quote(node.Scalar());
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
  }
  return "something else";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

// The offset of the first byte of `text` that a YAML stream may not hold, or
// npos: a control character other than tab, line feed and carriage return
// (YAML allows printable characters only), or a byte that does not start a
// well-formed UTF-8 sequence (no overlong forms, surrogates or code points
// past U+10FFFF). yaml-cpp passes such bytes through, or turns them into
// bytes that are not UTF-8, and JSON (what workers register, error messages
// quoting values) cannot hold those.
std::size_t first_bad_byte(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) return i;
      ++i;
      continue;
    }
    std::size_t more = 0;  // continuation bytes
    unsigned char lo = 0x80;  // range of the first continuation byte
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      more = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      more = 2;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      more = 3;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // past U+10FFFF
    } else {
      return i;
    }
    if (i + more >= text.size()) return i;
    for (std::size_t k = 1; k <= more; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return i;
    }
    i += more + 1;
  }
  return std::string_view::npos;
}

// Counts the documents of a YAML stream; keeps where the second one's content starts.
struct DocumentCounter : YAML::EventHandler {
  int documents = 0;
  YAML::Mark second = YAML::Mark::null_mark();

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents == 2) second = mark;
    content_seen = false;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { content(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { content(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override {
    content(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    content(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    content(mark);
  }
  void OnMapEnd() override {}

 private:
  void content(const YAML::Mark& mark) {
    if (documents == 2 && !content_seen) second = mark;
    content_seen = true;
  }
  bool content_seen = false;
};

// Turns a YAML document into specs. Every error names the file, the 1-based
// line of the offending key (or value) and the key.
class Parser {
 public:
  explicit Parser(std::string path) : path_(std::move(path)) {}

  WorkflowsFile parse(std::string_view text) {
    if (const std::size_t bad = first_bad_byte(text); bad != std::string_view::npos) {
      YAML::Mark at;
      at.pos = static_cast<int>(bad);
      at.line = static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(bad), '\n'));
      const auto c = static_cast<unsigned char>(text[bad]);
      char byte[8];
      std::snprintf(byte, sizeof byte, "0x%02X", c);
      fail(at, "",
           (c < 0x80 ? std::string("control character ") + byte : std::string("invalid UTF-8 (byte ") + byte + ")") +
               "; the file must be UTF-8 text");
    }
    try {
      return parse_document(text);
    } catch (const YamlError& e) {
      fail(e.mark, e.key, e.what());
    } catch (const YAML::Exception& e) {
      fail(e.mark, "", "invalid YAML: " + e.msg);
    }
  }

 private:
  [[noreturn]] void fail(const YAML::Mark& mark, std::string_view key,
                         const std::string& what) const {
    std::string message = path_ + ":" + std::to_string(mark.is_null() ? 1 : mark.line + 1) + ": ";
    if (!key.empty()) message += "key " + quote(key) + ": ";
    message += what;
    if (!context_.empty()) message += " (in " + context_ + ")";
    throw ConfigError(message);
  }

  // The mark of `node`, or `fallback`'s when the node has none (a missing value).
  static YAML::Mark mark_of(const YAML::Node& node, const YAML::Mark& fallback) {
    if (!node.IsDefined()) return fallback;
    const YAML::Mark mark = node.Mark();
    return mark.is_null() ? fallback : mark;
  }

  // The entries of a map, in order; rejects a non-map, non-string or duplicate
  // keys, and any key not in `allowed` (empty = any key). `where` and `key`
  // locate the map for messages.
  std::vector<Entry> entries(const YAML::Node& map, const YAML::Mark& where, std::string_view key,
                             std::initializer_list<std::string_view> allowed) const {
    if (!map.IsMap()) fail(mark_of(map, where), key, "expected a map, got " + describe(map));
    std::vector<Entry> out;
    std::set<std::string, std::less<>> seen;
    for (const auto& item : map) {
      const YAML::Node& k = item.first;
      if (!k.IsScalar()) fail(mark_of(k, where), key, "a key must be a plain string");
      const std::string& name = k.Scalar();
      if (!seen.insert(name).second) fail(k.Mark(), name, "duplicate key");
      out.push_back(Entry{name, k, item.second});
    }
    if (allowed.size() > 0) only_known(out, allowed);
    return out;
  }

  void only_known(const std::vector<Entry>& items,
                  std::initializer_list<std::string_view> allowed) const {
    for (const Entry& entry : items) {
      if (std::find(allowed.begin(), allowed.end(), entry.key) == allowed.end()) {
        const std::vector<std::string> expected(allowed.begin(), allowed.end());
        fail(entry.key_node.Mark(), entry.key,
             "unknown key (expected one of: " + join(expected) + ")");
      }
    }
  }

  std::string text(const Entry& entry) const {
    if (!entry.value.IsScalar()) {
      fail(entry.key_node.Mark(), entry.key,
           "expected a single value, got " + describe(entry.value));
    }
    return entry.value.Scalar();
  }

  std::string name(const Entry& entry, std::string_view what) const {
    std::string value = text(entry);
    if (!is_valid_name(value)) {
      fail(entry.key_node.Mark(), entry.key,
           "invalid " + std::string(what) + " name " + quote(value) +
               ": it must match ^[A-Za-z0-9_-]{1,64}$");
    }
    return value;
  }

  std::chrono::milliseconds duration(const Entry& entry) const {
    const std::string value = text(entry);
    try {
      return parse_duration(value);
    } catch (const std::invalid_argument& e) {
      fail(entry.key_node.Mark(), entry.key, e.what());
    }
  }

  Json scalar(const Entry& entry) const {
    if (!entry.value.IsScalar()) {
      fail(entry.key_node.Mark(), entry.key,
           "expected a single value, got " + describe(entry.value));
    }
    return yaml_scalar_to_json(entry.value, entry.key);
  }

  Json tree(const Entry& entry) { return yaml_to_json(entry.value, entry.key, budget_); }

  WorkflowsFile parse_document(std::string_view text) {
    WorkflowsFile file;
    file.path = path_;
    const std::string yaml(text);
    const YAML::Node root = YAML::Load(yaml);
    const YAML::Mark start = YAML::Mark();
    if (root.IsNull()) {
      fail(start, "workflows", "the file is empty; expected a map with key 'workflows'");
    }
    // Not YAML::LoadAll: on some malformed input (a ',' at the top level)
    // yaml-cpp 0.7 yields an empty document again and again, and LoadAll
    // never returns. Two documents are enough to know.
    DocumentCounter counter;
    std::istringstream in(yaml);
    YAML::Parser parser(in);
    while (counter.documents < 2 && parser.HandleNextDocument(counter)) {
    }
    if (counter.documents > 1) fail(counter.second, "", "more than one YAML document in the file");
    bool have_workflows = false;
    const Entry* schedules = nullptr;
    const std::vector<Entry> top = entries(root, start, "", {"workflows", "limits", "queues", "schedules"});
    for (const Entry& entry : top) {
      if (entry.key == "schedules") {
        schedules = &entry;  // after the workflows, which it names
      } else if (entry.key == "workflows") {
        have_workflows = true;
        file.workflows = parse_workflows_map(entry);
      } else if (entry.key == "queues") {
        for (const Entry& q : entries(entry.value, entry.key_node.Mark(), entry.key, {})) {
          const std::string queue = name(Entry{q.key, q.key_node, YAML::Node(q.key)}, "queue");
          std::optional<QueueOrder> order;
          bool priorities = false;
          const Entry* aging = nullptr;
          const std::vector<Entry> opts =
              entries(q.value, q.key_node.Mark(), q.key, {"max_backlog", "fairness", "priorities", "aging"});
          for (const Entry& opt : opts) {
            if (opt.key == "max_backlog") {
              file.max_backlog[queue] = positive(opt);
            } else if (opt.key == "priorities") {
              priorities = boolean(opt);
            } else if (opt.key == "aging") {
              aging = &opt;
            } else {
              order = fairness(opt);
            }
          }
          if (priorities && !order) order = QueueOrder{};
          if (aging != nullptr) {
            if (!order) {
              fail(aging->key_node.Mark(), aging->key,
                   "aging applies to an ordered queue: declare `priorities: true` or `fairness` on queue '" + queue +
                       "' too");
            }
            order->aging = aging_of(*aging);
          }
          if (order) file.queue_order[queue] = *order;
        }
      } else {
        if (!entry.value.IsMap()) {
          fail(entry.key_node.Mark(), entry.key,
               "expected a map of limiters, got " + describe(entry.value));
        }
        file.limits = tree(entry);
        file.limiters = parse_limits(entry);
      }
    }
    if (!have_workflows) fail(root.Mark(), "workflows", "missing: the file declares no workflows");
    // A step may only use a declared limiter.
    for (const WorkflowSpec& w : file.workflows) {
      for (const StepSpec& st : w.steps) {
        for (const LimitUse* use : limit_uses(st.options)) {
          const bool declared = std::any_of(file.limiters.begin(), file.limiters.end(),
                                            [&](const LimitSpec& l) { return l.name == use->name; });
          if (!declared) {
            context_ = "workflow " + quote(w.name) + ", step " + quote(st.name);
            YAML::Mark at;
            at.line = st.limit_line - 1;
            fail(at, "limit", "unknown limiter " + quote(use->name) + " (declare it under the top-level 'limits:')");
          }
        }
      }
    }
    check_child_workflows(file.workflows);
    check_task_queues(file.workflows);
    if (schedules != nullptr) file.schedules = parse_schedules(*schedules, file.workflows);
    return file;
  }

  // A task step (external workers: docs/worker-protocol.md) names its queue,
  // and a queue holds task steps only or none: a C++ worker never serves a
  // task queue, and external workers only take task steps.
  void check_task_queues(const std::vector<WorkflowSpec>& workflows) {
    struct First {
      bool task = false;
      std::string where;  // "workflow 'w' step 's'"
    };
    std::map<std::string, First> first;
    for (const WorkflowSpec& w : workflows) {
      for (const StepSpec& st : w.steps) {
        const bool task = st.kind == "task";
        context_ = "workflow " + quote(w.name) + ", step " + quote(st.name);
        YAML::Mark at;
        if (task && st.queue_line == 0) {
          at.line = st.kind_line - 1;
          fail(at, "queue",
               "a task step must name its queue (a queue of task steps only, served by external workers), "
               "e.g. `queue: py`");
        }
        const std::string here = "workflow " + quote(w.name) + " step " + quote(st.name);
        auto [it, inserted] = first.try_emplace(st.options.queue, First{task, here});
        if (inserted || it->second.task == task) continue;
        at.line = (st.queue_line > 0 ? st.queue_line : st.kind_line) - 1;
        fail(at, "queue",
             "queue " + quote(st.options.queue) + " would hold " + (task ? "a task step" : "a step of kind " + quote(st.kind)) +
                 " and, from " + it->second.where + ", " + (it->second.task ? "task steps" : "steps of other kinds") +
                 ": a queue holds task steps (run by external workers) only or none");
      }
    }
  }

  // A child workflow step names a workflow of the file, and no workflow
  // starts itself, directly or through others: its runs would nest for ever.
  void check_child_workflows(const std::vector<WorkflowSpec>& workflows) {
    const auto find = [&](const std::string& name) -> const WorkflowSpec* {
      for (const WorkflowSpec& w : workflows) {
        if (w.name == name) return &w;
      }
      return nullptr;
    };
    const auto children = [](const WorkflowSpec& w) {
      std::vector<std::pair<const StepSpec*, std::string>> out;
      for (const StepSpec& st : w.steps) {
        if (st.kind == "workflow") out.emplace_back(&st, st.with.at("workflow").get<std::string>());
      }
      return out;
    };
    for (const WorkflowSpec& w : workflows) {
      for (const auto& [step, child] : children(w)) {
        context_ = "workflow " + quote(w.name) + ", step " + quote(step->name);
        YAML::Mark at;
        at.line = (step->with_line > 0 ? step->with_line : step->kind_line) - 1;
        if (find(child) == nullptr) {
          fail(at, "with", "unknown workflow " + quote(child) + " (declare it under 'workflows:')");
        }
        // Depth-first from the child: reaching w again is a cycle; the path names it.
        std::vector<std::string> path{w.name, child};
        std::vector<std::string> seen;
        const auto reaches = [&](const auto& self, const std::string& at_name) -> bool {
          if (at_name == w.name) return true;
          if (std::find(seen.begin(), seen.end(), at_name) != seen.end()) return false;
          seen.push_back(at_name);
          const WorkflowSpec* spec = find(at_name);
          if (spec == nullptr) return false;
          for (const auto& [unused, next] : children(*spec)) {
            path.push_back(next);
            if (self(self, next)) return true;
            path.pop_back();
          }
          return false;
        };
        if (reaches(reaches, child)) {
          std::string cycle;
          for (const std::string& n : path) cycle += (cycle.empty() ? "" : " -> ") + n;
          fail(at, "with", "workflow " + quote(w.name) + " would start itself: " + cycle);
        }
      }
    }
  }

  std::vector<ScheduleSpec> parse_schedules(const Entry& schedules, const std::vector<WorkflowSpec>& workflows) {
    const YAML::Mark where = schedules.key_node.Mark();
    if (!schedules.value.IsMap()) {
      fail(where, schedules.key, "expected a map of schedule names to schedules, got " + describe(schedules.value));
    }
    const std::vector<Entry> items = entries(schedules.value, where, schedules.key, {});
    if (items.size() > kMaxSchedules) {
      fail(items[kMaxSchedules].key_node.Mark(), items[kMaxSchedules].key,
           "more than " + std::to_string(kMaxSchedules) + " schedules in one file");
    }
    std::vector<ScheduleSpec> specs;
    specs.reserve(items.size());
    for (const Entry& item : items) specs.push_back(parse_schedule(item, workflows));
    context_.clear();
    return specs;
  }

  ScheduleSpec parse_schedule(const Entry& item, const std::vector<WorkflowSpec>& workflows) {
    ScheduleSpec spec;
    const YAML::Mark where = item.key_node.Mark();
    spec.line = where.line + 1;
    if (!is_valid_name(item.key)) {
      fail(where, item.key,
           "invalid schedule name " + quote(item.key) + ": it must match ^[A-Za-z0-9_-]{1,64}$");
    }
    spec.name = item.key;
    context_ = "schedule " + quote(spec.name);
    if (!item.value.IsMap()) {
      fail(where, item.key, "expected a map with keys 'workflow' and 'cron', got " + describe(item.value));
    }
    const WorkflowSpec* workflow = nullptr;
    const Entry* input = nullptr;  // into `keys`
    bool have_cron = false;
    const std::vector<Entry> keys =
        entries(item.value, where, item.key, {"workflow", "cron", "timezone", "input", "catch_up", "overlap"});
    for (const Entry& entry : keys) {
      const YAML::Mark at = entry.key_node.Mark();
      if (entry.key == "workflow") {
        spec.workflow = name(entry, "workflow");
        const auto found = std::find_if(workflows.begin(), workflows.end(),
                                        [&](const WorkflowSpec& w) { return w.name == spec.workflow; });
        if (found == workflows.end()) {
          fail(at, entry.key, "unknown workflow " + quote(spec.workflow) + " (declare it under 'workflows:')");
        }
        workflow = &*found;
      } else if (entry.key == "cron") {
        have_cron = true;
        try {
          spec.cron = engine::parse_cron(text(entry));
        } catch (const std::invalid_argument& e) {
          fail(at, entry.key, e.what());
        }
      } else if (entry.key == "timezone") {
        spec.timezone = text(entry);
      } else if (entry.key == "input") {
        input = &entry;
      } else if (entry.key == "catch_up") {
        try {
          spec.catch_up = engine::parse_catch_up(text(entry));
        } catch (const std::invalid_argument& e) {
          fail(at, entry.key, e.what());
        }
      } else {
        try {
          spec.overlap = engine::parse_overlap(text(entry));
        } catch (const std::invalid_argument& e) {
          fail(at, entry.key, e.what());
        }
      }
    }
    if (workflow == nullptr) fail(where, "workflow", "missing: every schedule names the workflow it starts");
    if (!have_cron) fail(where, "cron", "missing: every schedule needs a cron expression");
    try {
      spec.zone = engine::locate_time_zone(spec.timezone);
    } catch (const std::invalid_argument& e) {
      const YAML::Node node = item.value["timezone"];
      fail(mark_of(node, where), "timezone", e.what());
    }
    if (input != nullptr) {
      if (!input->value.IsMap()) {
        fail(input->key_node.Mark(), input->key, "expected a map (the run's input), got " + describe(input->value));
      }
      spec.input = tree(*input);
      if (spec.input.dump().size() > workflow->max_input_bytes) {
        fail(input->key_node.Mark(), input->key,
             "the input is larger than the workflow's max_input_bytes (" +
                 std::to_string(workflow->max_input_bytes) + ")");
      }
    }
    if (!workflow->input_schema.is_null()) {
      const std::vector<engine::FieldError> problems =
          engine::JsonSchema(workflow->input_schema).validate(spec.input, "/input");
      if (!problems.empty()) {
        const YAML::Mark at = input != nullptr ? input->key_node.Mark() : where;
        fail(at, "input",
             "does not match the input_schema of workflow " + quote(workflow->name) + ": " +
                 (problems.front().pointer.empty() ? std::string("/input") : problems.front().pointer) + ": " +
                 problems.front().detail);
      }
    }
    return spec;
  }

  std::vector<WorkflowSpec> parse_workflows_map(const Entry& workflows) {
    const YAML::Mark where = workflows.key_node.Mark();
    if (!workflows.value.IsMap()) {
      fail(where, workflows.key,
           "expected a map of workflow names to workflows, got " + describe(workflows.value));
    }
    const std::vector<Entry> items = entries(workflows.value, where, workflows.key, {});
    if (items.empty()) fail(where, workflows.key, "no workflows declared");
    if (items.size() > kMaxWorkflows) {
      fail(items[kMaxWorkflows].key_node.Mark(), items[kMaxWorkflows].key,
           "more than " + std::to_string(kMaxWorkflows) + " workflows in one file");
    }
    std::vector<WorkflowSpec> specs;
    specs.reserve(items.size());
    for (const Entry& item : items) specs.push_back(parse_workflow(item));
    return specs;
  }

  WorkflowSpec parse_workflow(const Entry& item) {
    WorkflowSpec spec;
    const YAML::Mark where = item.key_node.Mark();
    spec.line = where.line + 1;
    if (!is_valid_name(item.key)) {
      fail(where, item.key,
           "invalid workflow name " + quote(item.key) + ": it must match ^[A-Za-z0-9_-]{1,64}$");
    }
    spec.name = item.key;
    context_ = "workflow " + quote(spec.name);
    if (!item.value.IsMap()) {
      fail(where, item.key, "expected a map with key 'steps', got " + describe(item.value));
    }
    bool have_steps = false;
    for (const Entry& entry :
         entries(item.value, where, item.key, {"steps", "input_schema", "max_input_bytes", "deadline"})) {
      if (entry.key == "deadline") {
        spec.deadline = duration(entry);
        if (spec.deadline.count() <= 0 || spec.deadline > kMaxWait) {
          fail(entry.key_node.Mark(), entry.key,
               "must be more than 0 and at most " + std::to_string(kMaxWait.count() / 3'600'000) + "h, got " +
                   quote(text(entry)));
        }
      } else if (entry.key == "steps") {
        have_steps = true;
        spec.steps = parse_steps(entry, spec.name);
      } else if (entry.key == "max_input_bytes") {
        const std::int64_t v = positive(entry);
        if (v > static_cast<std::int64_t>(kMaxInputBytes)) {
          fail(entry.key_node.Mark(), entry.key,
               "max_input_bytes may be at most " + std::to_string(kMaxInputBytes) + " (1 MiB), got " +
                   std::to_string(v));
        }
        spec.max_input_bytes = static_cast<std::size_t>(v);
      } else {
        if (!entry.value.IsMap()) {
          fail(entry.key_node.Mark(), entry.key,
               "expected a JSON Schema as a map, got " + describe(entry.value));
        }
        spec.input_schema = tree(entry);
        check_input_schema(entry, spec.input_schema);
      }
    }
    if (!have_steps) fail(where, "steps", "missing: every workflow needs a list of steps");
    context_.clear();
    return spec;
  }

  std::vector<StepSpec> parse_steps(const Entry& steps, const std::string& workflow) {
    const YAML::Mark where = steps.key_node.Mark();
    if (!steps.value.IsSequence()) {
      fail(where, steps.key, "expected a list of steps, got " + describe(steps.value));
    }
    if (steps.value.size() == 0) fail(where, steps.key, "the list of steps is empty");
    if (steps.value.size() > kMaxStepsPerWorkflow) {
      fail(mark_of(steps.value[kMaxStepsPerWorkflow], where), steps.key,
           "more than " + std::to_string(kMaxStepsPerWorkflow) + " steps in one workflow");
    }
    std::vector<StepSpec> specs;
    std::size_t index = 0;
    for (const YAML::Node& node : steps.value) {
      ++index;
      context_ = "workflow " + quote(workflow) + ", step #" + std::to_string(index);
      StepSpec spec = parse_step(node, mark_of(node, where));
      for (const StepSpec& earlier : specs) {
        if (earlier.name == spec.name) {
          fail(mark_of(node["name"], where), "name",
               "duplicate step name " + quote(spec.name) + " (first on line " +
                   std::to_string(earlier.line) + ")");
        }
      }
      specs.push_back(std::move(spec));
    }
    const engine::WorkflowGraph graph = checked_graph(specs, steps.value, where, workflow);
    for (std::size_t i = 0; i < specs.size(); ++i) {
      context_ = "workflow " + quote(workflow) + ", step #" + std::to_string(i + 1) + " " + quote(specs[i].name);
      check_step_references(i, specs, graph, steps.value, workflow);
      check_item_references(specs[i]);
    }
    context_ = "workflow " + quote(workflow);
    return specs;
  }

  // The steps' graph (`needs`), refused at the `needs` key of the step at
  // fault (or the step itself) when a need is unknown, repeated or cyclic,
  // or when this version cannot run it (not a chain).
  engine::WorkflowGraph checked_graph(const std::vector<StepSpec>& specs, const YAML::Node& all_steps,
                                      const YAML::Mark& where, const std::string& workflow) {
    std::vector<engine::StepNeeds> needs;
    for (const StepSpec& s : specs) needs.push_back(engine::StepNeeds{s.name, s.needs});
    const auto refuse = [&](const engine::GraphError& e) {
      const StepSpec& at_fault = specs.at(e.step());
      context_ = "workflow " + quote(workflow) + ", step #" + std::to_string(e.step() + 1) + " " +
                 quote(at_fault.name);
      YAML::Mark at = mark_of(all_steps[e.step()], where);
      if (at_fault.needs_line > 0) at.line = at_fault.needs_line - 1;
      fail(at, "needs", e.what());
    };
    try {
      engine::WorkflowGraph graph = engine::WorkflowGraph::build(needs);
      std::vector<engine::RunnableStep> steps;
      for (const StepSpec& s : specs) steps.push_back({s.name, s.options.queue, s.map.has_value()});
      engine::check_runnable(graph, steps);
      return graph;
    } catch (const engine::GraphError& e) {
      refuse(e);
    }
    return engine::WorkflowGraph::build({});  // not reached: refuse() throws
  }

  // An input_schema must be a JSON Schema draft-04 the API can compile; the
  // error names the line of the offending keyword inside it.
  void check_input_schema(const Entry& entry, const Json& schema) {
    const std::optional<engine::FieldError> problem = engine::JsonSchema::problem_in(schema);
    if (!problem) return;
    // Follow the pointer into the YAML as far as it goes, for the line.
    YAML::Mark at = entry.key_node.Mark();
    YAML::Node node = entry.value;
    std::string_view rest = problem->pointer;
    while (!rest.empty() && rest.front() == '/') {
      rest.remove_prefix(1);
      const std::size_t end = std::min(rest.find('/'), rest.size());
      std::string token;
      for (std::size_t i = 0; i < end; ++i) {
        if (rest[i] == '~' && i + 1 < end) {
          token += rest[i + 1] == '1' ? '/' : '~';
          ++i;
        } else {
          token += rest[i];
        }
      }
      rest.remove_prefix(end);
      YAML::Node next;
      if (node.IsMap()) {
        next = node[token];
      } else if (node.IsSequence() && !token.empty() &&
                 token.find_first_not_of("0123456789") == std::string::npos && token.size() < 9) {
        next = node[static_cast<std::size_t>(std::stoul(token))];
      }
      if (!next.IsDefined()) break;
      node = next;
      at = mark_of(node, at);
    }
    fail(at, entry.key,
         "not a valid JSON Schema (draft-04): " +
             (problem->pointer.empty() ? std::string() : "at " + quote(problem->pointer) + ": ") + problem->detail);
  }

  // A step's templates may read only the outputs of the steps it needs,
  // directly or through others (`graph`): any other step may not have
  // finished when it starts, so reading it would fail runs at random; a
  // missing or its own step would fail every run. Both fail here.
  void check_step_references(std::size_t index, const std::vector<StepSpec>& specs,
                             const engine::WorkflowGraph& graph, const YAML::Node& all_steps,
                             const std::string& workflow) {
    const StepSpec& step = specs[index];
    std::vector<std::string> before;  // the steps it may read, in list order
    for (std::size_t i = 0; i < specs.size(); ++i) {
      if (graph.precedes(i, index)) before.push_back(specs[i].name);
    }
    const auto check = [&](const std::string& text, int line, std::string_view key) {
      if (text.find("{{") == std::string::npos) return;
      std::vector<std::string> names;
      std::vector<std::string> callbacks;
      try {
        const engine::Template parsed = engine::Template::parse(text);
        names = parsed.step_references();
        callbacks = parsed.callback_references();
      } catch (const engine::TemplateSyntaxError&) {
        return;  // the step's kind reports the syntax, with its own context
      }
      // A callback URL may name any signal wait of the workflow, later ones included.
      for (const std::string& name : callbacks) {
        bool signal_wait = false;
        for (const YAML::Node& node : all_steps) {
          if (node.IsMap() && node["name"] && node["name"].IsScalar() && node["name"].Scalar() == name &&
              node["kind"] && node["kind"].IsScalar() && node["kind"].Scalar() == "wait" && node["with"] &&
              node["with"].IsMap() && node["with"]["signal"]) {
            signal_wait = true;
          }
        }
        if (!signal_wait) {
          YAML::Mark at;
          at.line = line - 1;
          fail(at, key,
               "template " + quote(text, 120) + " reads the callback URL of step " + quote(name) +
                   ", which is no signal wait of workflow " + quote(workflow) +
                   " (a step {kind: wait, with: {signal: <name>}})");
        }
      }
      for (const std::string& name : names) {
        if (std::find(before.begin(), before.end(), name) != before.end()) continue;
        std::string why = "is not a step of workflow " + quote(workflow);
        if (name == step.name) {
          why = "is this step itself";
        } else {
          for (std::size_t i = 0; i < specs.size(); ++i) {
            if (specs[i].name != name) continue;
            why = i > index ? "comes later in workflow " + quote(workflow)
                            : "is not among the steps it needs (directly or through others)";
          }
        }
        std::string names_before;
        for (const std::string& s : before) names_before += (names_before.empty() ? "" : ", ") + s;
        YAML::Mark at;
        at.line = line - 1;
        fail(at, key,
             "template " + quote(text, 120) + " reads step " + quote(name) + ", which " + why +
                 "; a template may read only the outputs of the steps that finish before it (" +
                 (names_before.empty() ? std::string("none before this one") : "earlier: " + names_before) + ")");
      }
    };
    const auto walk = [&](const auto& self, const Json& value) -> void {
      if (value.is_string()) {
        check(value.get_ref<const std::string&>(), step.with_line, "with");
      } else if (value.is_structured()) {
        for (const Json& item : value) self(self, item);
      }
    };
    walk(walk, step.with);
    for (const LimitUse* use : limit_uses(step.options)) {
      if (!use->tokens_template.empty()) check(use->tokens_template, step.limit_line, "limit");
      if (!use->key_template.empty()) check(use->key_template, step.limit_line, "limit");
    }
    if (!step.condition.empty()) check(step.condition, step.if_line, "if");
    if (step.map) check(step.map->over, step.map_line, "map");
  }

  // `item` and `item_index` exist in a map step's `with` and limits only: a
  // step's `if` and a map's `over` are evaluated once for the whole step.
  void check_item_references(const StepSpec& step) {
    const auto check = [&](const std::string& text, int line, std::string_view key, bool allowed) {
      if (text.find("{{") == std::string::npos) return;
      bool reads = false;
      try {
        reads = engine::Template::parse(text).reads_item();
      } catch (const engine::TemplateSyntaxError&) {
        return;  // reported with its own context
      }
      if (!reads || allowed) return;
      YAML::Mark at;
      at.line = line - 1;
      fail(at, key,
           "template " + quote(text, 120) + " reads `item` or `item_index`, which " +
               (step.map ? std::string("a map step's `if` cannot: it is evaluated once for the whole step")
                         : std::string("only a map step has (`map: {over: ...}`)")));
    };
    const bool map = step.map.has_value();
    const auto walk = [&](const auto& self, const Json& value) -> void {
      if (value.is_string()) {
        check(value.get_ref<const std::string&>(), step.with_line, "with", map);
      } else if (value.is_structured()) {
        for (const Json& item : value) self(self, item);
      }
    };
    walk(walk, step.with);
    for (const LimitUse* use : limit_uses(step.options)) {
      if (!use->tokens_template.empty()) check(use->tokens_template, step.limit_line, "limit", map);
      if (!use->key_template.empty()) check(use->key_template, step.limit_line, "limit", map);
    }
    if (!step.condition.empty()) check(step.condition, step.if_line, "if", false);
  }

  StepSpec parse_step(const YAML::Node& node, const YAML::Mark& where) {
    if (!node.IsMap()) {
      fail(where, "steps",
           "a step must be a map like {name: a, kind: noop}, got " + describe(node));
    }
    StepSpec spec;
    spec.line = where.line + 1;
    spec.with = Json::object();
    // The name first, so that every other error can say which step it is in.
    const std::vector<Entry> items = entries(node, where, "steps", {});
    for (const Entry& entry : items) {
      if (entry.key == "name") {
        spec.name = name(entry, "step");
        context_ += " " + quote(spec.name);
      }
    }
    only_known(items,
               {"name", "kind", "with", "lease", "timeout", "queue", "retry", "limit", "needs", "if", "on_failure",
                "map"});
    for (const Entry& entry : items) {
      const YAML::Mark at = entry.key_node.Mark();
      if (entry.key == "kind") {
        spec.kind = text(entry);
        spec.kind_line = at.line + 1;
        if (spec.kind.empty()) fail(at, entry.key, "must not be empty");
      } else if (entry.key == "with") {
        if (!entry.value.IsMap()) {
          fail(at, entry.key, "expected a map of parameters, got " + describe(entry.value));
        }
        spec.with = tree(entry);
        spec.with_line = at.line + 1;
      } else if (entry.key == "lease") {
        spec.options.lease = duration(entry);
        if (spec.options.lease < kMinLease) {
          fail(at, entry.key,
               "must be at least " + std::to_string(kMinLease.count()) + "ms, got " +
                   quote(text(entry)));
        }
      } else if (entry.key == "timeout") {
        spec.options.timeout = duration(entry);
      } else if (entry.key == "queue") {
        spec.options.queue = name(entry, "queue");
        spec.queue_line = at.line + 1;
      } else if (entry.key == "retry") {
        spec.options.retry = parse_retry(entry);
      } else if (entry.key == "limit") {
        // One limiter as a map, or several as a list of such maps (admitted all at once).
        if (entry.value.IsSequence()) {
          if (entry.value.size() == 0) fail(at, entry.key, "expected at least one limiter, got an empty list");
          std::set<std::string> named;
          for (const YAML::Node& item : entry.value) {
            LimitUse use = parse_limit_use(Entry{entry.key, item, item});
            if (!named.insert(use.name).second) {
              fail(mark_of(item, at), entry.key, "limiter " + quote(use.name) + " is listed twice");
            }
            spec.options.limits.push_back(std::move(use));
          }
        } else {
          spec.options.limit = parse_limit_use(entry);
        }
        spec.limit_line = at.line + 1;
      } else if (entry.key == "needs") {
        spec.needs = parse_needs(entry);
        spec.needs_line = at.line + 1;
      } else if (entry.key == "if") {
        spec.condition = parse_condition(entry);
        spec.if_line = at.line + 1;
      } else if (entry.key == "map") {
        spec.map = parse_map(entry);
        spec.map_line = at.line + 1;
      } else if (entry.key == "on_failure") {
        const std::string value = entry.value.IsScalar() ? entry.value.Scalar() : std::string();
        if (value == "fail_run") {
          spec.options.on_failure = OnFailure::fail_run;
        } else if (value == "continue") {
          spec.options.on_failure = OnFailure::continue_;
        } else {
          fail(at, entry.key,
               "expected fail_run (the run fails into the dead-letter queue) or continue (the run goes on "
               "with the step's output null), got " +
                   (entry.value.IsScalar() ? quote(value) : describe(entry.value)));
        }
      }
    }
    if (spec.name.empty()) fail(where, "name", "missing: every step needs a name");
    if (spec.kind.empty()) fail(where, "kind", "missing: every step needs a kind");
    if (spec.map) {
      for (const Entry& entry : items) {
        if (entry.key == "on_failure") {
          fail(entry.key_node.Mark(), entry.key,
               "a map step says what a failing item does with `on_item_failure` in `map` (fail_run or continue)");
        }
      }
    }
    if (spec.kind == "wait") {
      for (const Entry& entry : items) {
        if (entry.key == "map") {
          fail(entry.key_node.Mark(), entry.key, "a wait step cannot be a map step");
        }
        if (entry.key == "lease" || entry.key == "timeout" || entry.key == "retry" || entry.key == "limit") {
          fail(entry.key_node.Mark(), entry.key,
               "a wait step holds no worker while it waits: it takes no lease, timeout, retry or limit");
        }
        if (entry.key == "on_failure") {
          fail(entry.key_node.Mark(), entry.key,
               "a wait step fails only at a signal's timeout: say what happens then with `on_timeout` in `with`");
        }
      }
    }
    if (spec.kind == "workflow") {
      for (const Entry& entry : items) {
        if (entry.key == "lease" || entry.key == "timeout" || entry.key == "retry" || entry.key == "limit") {
          fail(entry.key_node.Mark(), entry.key,
               "a child workflow step holds no worker while its child runs: it takes no lease, timeout, retry or "
               "limit (the child's steps do)");
        }
      }
      YAML::Mark at = where;
      at.line = (spec.with_line > 0 ? spec.with_line : spec.kind_line) - 1;
      for (const auto& [key, value] : spec.with.items()) {
        if (key != "workflow" && key != "input") {
          fail(at, "with", "unknown parameter " + quote(key) + " of a child workflow step (expected workflow, input)");
        }
      }
      const auto name = spec.with.find("workflow");
      if (name == spec.with.end() || !name->is_string() || !is_valid_name(name->get_ref<const std::string&>())) {
        fail(at, "with",
             "a child workflow step names its workflow: {workflow: <name>, input: {...}}, got " +
                 (name == spec.with.end() ? std::string("no workflow") : name->dump()));
      }
    }
    return spec;
  }

  // `needs: [a, b]` or `needs: []`: step names, each a valid name.
  std::vector<std::string> parse_needs(const Entry& entry) {
    const YAML::Mark at = entry.key_node.Mark();
    if (!entry.value.IsSequence()) {
      fail(at, entry.key, "expected a list of step names like [split, fetch] (or [] to start with the run), got " +
                              describe(entry.value));
    }
    std::vector<std::string> names;
    for (const YAML::Node& item : entry.value) {
      if (!item.IsScalar() || !is_valid_name(item.Scalar())) {
        fail(mark_of(item, at), entry.key,
             "expected a step name (^[A-Za-z0-9_-]{1,64}$), got " +
                 (item.IsScalar() ? quote(item.Scalar()) : describe(item)));
      }
      names.push_back(item.Scalar());
    }
    return names;
  }

  // `if: "{{...}}"`: a template that parses (what it reads is checked with
  // the step's other templates, check_step_references).
  std::string parse_condition(const Entry& entry) {
    const YAML::Mark at = entry.key_node.Mark();
    if (!entry.value.IsScalar() || entry.value.Scalar().empty()) {
      fail(at, entry.key,
           "expected a template like \"{{len(steps.search.output.hits)}}\" (false, 0, \"\", null or [] skip "
           "the step), got " + describe(entry.value));
    }
    const std::string condition = entry.value.Scalar();
    try {
      (void)engine::Template::parse(condition);
    } catch (const engine::TemplateSyntaxError& e) {
      fail(at, entry.key, e.what());
    }
    return condition;
  }

  // `map: {over: "{{...}}", max_parallel, on_item_failure, max_items}`:
  // `over` is required, the rest default as in MapSpec.
  MapSpec parse_map(const Entry& map) {
    MapSpec spec;
    const YAML::Mark where = map.key_node.Mark();
    if (!map.value.IsMap()) {
      fail(where, map.key,
           "expected a map like {over: \"{{steps.split.output.chunks}}\", max_parallel: 20}, got " +
               describe(map.value));
    }
    bool have_over = false;
    for (const Entry& entry :
         entries(map.value, where, map.key, {"over", "max_parallel", "on_item_failure", "max_items", "max_output_bytes"})) {
      const YAML::Mark at = entry.key_node.Mark();
      if (entry.key == "over") {
        if (!entry.value.IsScalar() || entry.value.Scalar().find("{{") == std::string::npos) {
          fail(at, entry.key,
               "expected a template giving an array, like \"{{steps.split.output.chunks}}\", got " +
                   describe(entry.value));
        }
        spec.over = entry.value.Scalar();
        try {
          if (engine::Template::parse(spec.over).reads_item()) {
            fail(at, entry.key, "the list to map over cannot read `item` or `item_index`: they are its elements");
          }
        } catch (const engine::TemplateSyntaxError& e) {
          fail(at, entry.key, e.what());
        }
        have_over = true;
      } else if (entry.key == "on_item_failure") {
        const std::string value = entry.value.IsScalar() ? entry.value.Scalar() : std::string();
        if (value == "fail_run") {
          spec.on_item_failure = OnItemFailure::fail_run;
        } else if (value == "continue") {
          spec.on_item_failure = OnItemFailure::continue_;
        } else {
          fail(at, entry.key,
               "expected fail_run (an item that fails for good fails the run; a replay runs the failed items "
               "again) or continue (its output is null and the step lists it as failed), got " +
                   (entry.value.IsScalar() ? quote(value) : describe(entry.value)));
        }
      } else if (entry.key == "max_output_bytes") {
        const Json value = scalar(entry);
        if (!value.is_number_integer() || value.get<std::int64_t>() < 1 ||
            value.get<std::int64_t>() > kMaxMapOutputBytes) {
          fail(at, entry.key,
               "expected a number of bytes from 1 to " + std::to_string(kMaxMapOutputBytes) + ", got " + value.dump());
        }
        spec.max_output_bytes = value.get<std::int64_t>();
      } else {
        const Json value = scalar(entry);
        if (!value.is_number_integer() || value.get<std::int64_t>() < 1 ||
            value.get<std::int64_t>() > kMaxMapItems) {
          fail(at, entry.key,
               "expected a whole number from 1 to " + std::to_string(kMaxMapItems) + ", got " + value.dump());
        }
        (entry.key == "max_parallel" ? spec.max_parallel : spec.max_items) = static_cast<int>(value.get<std::int64_t>());
      }
    }
    if (!have_over) fail(where, map.key, "missing `over`: the template giving the array to map over");
    return spec;
  }

  bool boolean(const Entry& entry) const {
    const Json value = scalar(entry);
    if (!value.is_boolean()) fail(entry.key_node.Mark(), entry.key, "expected true or false, got " + value.dump());
    return value.get<bool>();
  }

  // A queue's `fairness: {key: TEMPLATE, weights: {value: N}}`.
  QueueOrder fairness(const Entry& entry) const {
    QueueOrder order;
    bool have_key = false;
    for (const Entry& f : entries(entry.value, entry.key_node.Mark(), entry.key, {"key", "weights"})) {
      if (f.key == "key") {
        order.fairness_key = text(f);
        have_key = true;
        try {
          (void)engine::Template::parse(order.fairness_key);
        } catch (const engine::TemplateSyntaxError& e) {
          fail(f.key_node.Mark(), f.key, e.what());
        }
        if (order.fairness_key.find("{{") == std::string::npos) {
          fail(f.key_node.Mark(), f.key,
               "the fairness key " + quote(order.fairness_key) +
                   " is the same for every run; give a template over the input, like \"{{input.tenant}}\"");
        }
      } else {
        for (const Entry& w : entries(f.value, f.key_node.Mark(), f.key, {})) {
          const Json value = scalar(w);
          if (!value.is_number_integer() || value.get<std::int64_t>() < 1 ||
              value.get<std::int64_t>() > kMaxFairnessWeight) {
            fail(w.key_node.Mark(), w.key,
                 "expected a weight from 1 to " + std::to_string(kMaxFairnessWeight) + ", got " + value.dump());
          }
          order.weights[w.key] = static_cast<int>(value.get<std::int64_t>());
        }
      }
    }
    if (!have_key) fail(entry.key_node.Mark(), entry.key, "missing `key`: the template giving a run's fairness key");
    return order;
  }

  // A queue's `aging`: a duration, or 0 = never.
  std::chrono::milliseconds aging_of(const Entry& entry) const {
    if (text(entry) == "0") return std::chrono::milliseconds(0);
    const std::chrono::milliseconds d = duration(entry);
    if (d < std::chrono::seconds(1)) {
      fail(entry.key_node.Mark(), entry.key, "aging must be at least 1s (or 0: never)");
    }
    return d;
  }

  // A positive whole number (limits are counts).
  std::int64_t positive(const Entry& entry) const {
    const Json value = scalar(entry);
    if (!value.is_number_integer() || value.get<std::int64_t>() < 1 ||
        value.get<std::int64_t>() > (std::int64_t{1} << 40)) {
      fail(entry.key_node.Mark(), entry.key, "expected a whole number >= 1, got " + value.dump());
    }
    return value.get<std::int64_t>();
  }

  std::vector<LimitSpec> parse_limits(const Entry& limits) {
    std::vector<LimitSpec> out;
    const YAML::Mark where = limits.key_node.Mark();
    for (const Entry& item : entries(limits.value, where, limits.key, {})) {
      LimitSpec spec;
      spec.name = name(Entry{item.key, item.key_node, YAML::Node(item.key)}, "limiter");
      for (const Entry& entry :
           entries(item.value, item.key_node.Mark(), item.key,
                   {"requests_per_minute", "burst", "tokens_per_minute", "token_burst", "concurrency",
                    "max_pause", "overrides"})) {
        if (entry.key == "overrides") {
          spec.overrides = parse_overrides(entry);
          continue;
        }
        if (entry.key == "max_pause") {
          spec.max_pause = duration(entry);
          if (spec.max_pause.count() <= 0) {
            fail(entry.key_node.Mark(), entry.key, "max_pause must be longer than zero");
          }
          continue;
        }
        const std::int64_t v = positive(entry);
        if (entry.key == "requests_per_minute") spec.requests_per_minute = v;
        if (entry.key == "burst") spec.burst = v;
        if (entry.key == "tokens_per_minute") spec.tokens_per_minute = v;
        if (entry.key == "token_burst") spec.token_burst = v;
        if (entry.key == "concurrency") spec.concurrency = v;
      }
      if (spec.requests_per_minute == 0 && spec.tokens_per_minute == 0 && spec.concurrency == 0) {
        fail(item.key_node.Mark(), item.key,
             "a limiter needs requests_per_minute, tokens_per_minute or concurrency");
      }
      out.push_back(std::move(spec));
    }
    return out;
  }

  // `overrides: {<key value>: {tokens_per_minute: 50000, ...}}`: some keys'
  // bounds of a keyed limiter.
  std::map<std::string, LimitOverride> parse_overrides(const Entry& overrides) {
    std::map<std::string, LimitOverride> out;
    for (const Entry& item : entries(overrides.value, overrides.key_node.Mark(), overrides.key, {})) {
      if (item.key.empty() || item.key.size() > 256) {
        fail(item.key_node.Mark(), overrides.key, "a key's value is 1 to 256 bytes, got " + std::to_string(item.key.size()));
      }
      LimitOverride o;
      const std::vector<Entry> fields =
          entries(item.value, item.key_node.Mark(), item.key,
                  {"requests_per_minute", "burst", "tokens_per_minute", "token_burst", "concurrency"});
      if (fields.empty()) fail(item.key_node.Mark(), item.key, "an override sets at least one bound");
      for (const Entry& entry : fields) {
        const std::int64_t v = positive(entry);
        if (entry.key == "requests_per_minute") o.requests_per_minute = v;
        if (entry.key == "burst") o.burst = v;
        if (entry.key == "tokens_per_minute") o.tokens_per_minute = v;
        if (entry.key == "token_burst") o.token_burst = v;
        if (entry.key == "concurrency") o.concurrency = v;
      }
      out[item.key] = o;
    }
    return out;
  }

  LimitUse parse_limit_use(const Entry& limit) {
    LimitUse use;
    const YAML::Mark where = limit.key_node.Mark();
    for (const Entry& entry :
         entries(limit.value, where, limit.key, {"name", "tokens", "usage", "key", "pause_on_429"})) {
      const YAML::Mark at = entry.key_node.Mark();
      if (entry.key == "name") {
        use.name = name(entry, "limiter");
      } else if (entry.key == "key") {
        const std::string tmpl = entry.value.IsScalar() ? entry.value.Scalar() : std::string();
        if (tmpl.find("{{") == std::string::npos) {
          fail(at, entry.key,
               "expected a template naming the run's key, like \"{{input.tenant}}\", got " +
                   (entry.value.IsScalar() ? quote(tmpl) : describe(entry.value)));
        }
        use.key_template = tmpl;
      } else if (entry.key == "pause_on_429") {
        const std::string value = entry.value.IsScalar() ? entry.value.Scalar() : std::string();
        if (value == "key") {
          use.pause_on_429 = PauseScope::key;
        } else if (value == "limiter") {
          use.pause_on_429 = PauseScope::limiter;
        } else {
          fail(at, entry.key,
               "expected key (a 429 pauses this run's key only) or limiter (every key), got " +
                   (entry.value.IsScalar() ? quote(value) : describe(entry.value)));
        }
      } else if (entry.key == "tokens") {
        const Json value = scalar(entry);
        if (value.is_number_integer() && value.get<std::int64_t>() >= 0) {
          use.tokens = value.get<std::int64_t>();
        } else if (value.is_string() && value.get<std::string>().find("{{") != std::string::npos) {
          use.tokens_template = value.get<std::string>();
        } else {
          fail(at, entry.key,
               "expected a whole number >= 0 or a template like \"{{len(input.text) / 4}}\", got " +
                   value.dump());
        }
      } else {
        const std::string pointer = text(entry);
        if (pointer.empty() || pointer.front() != '/') {
          fail(at, entry.key, "expected a JSON pointer like /usage/total_tokens, got " + quote(pointer));
        }
        use.usage_pointer = pointer;
      }
    }
    if (use.name.empty()) fail(where, "limit", "missing 'name': which limiter the step uses");
    if (use.pause_on_429 == PauseScope::limiter && use.key_template.empty()) {
      fail(where, "limit", "pause_on_429 chooses between a key and its whole limiter: give it with a 'key'");
    }
    return use;
  }

  RetryPolicy parse_retry(const Entry& retry) {
    RetryPolicy policy;
    const YAML::Mark where = retry.key_node.Mark();
    for (const Entry& entry : entries(retry.value, where, retry.key,
                                      {"max_attempts", "backoff", "max_rate_limited", "max_wait"})) {
      const YAML::Mark at = entry.key_node.Mark();
      if (entry.key == "max_attempts") {
        const Json value = scalar(entry);
        const bool in_range = value.is_number_integer() && !value.is_number_unsigned() &&
                              value.get<std::int64_t>() >= 1 &&
                              value.get<std::int64_t>() <= kMaxAttempts;
        if (!in_range) {
          fail(at, entry.key,
               "expected a whole number from 1 to " + std::to_string(kMaxAttempts) + ", got " +
                   value.dump());
        }
        policy.max_attempts = static_cast<int>(value.get<std::int64_t>());
      } else if (entry.key == "max_rate_limited") {
        const Json value = scalar(entry);
        const bool in_range = value.is_number_integer() && !value.is_number_unsigned() &&
                              value.get<std::int64_t>() >= 0 &&
                              value.get<std::int64_t>() <= kMaxRateLimited;
        if (!in_range) {
          fail(at, entry.key,
               "expected a whole number from 0 (no bound) to " + std::to_string(kMaxRateLimited) +
                   ", got " + value.dump());
        }
        policy.max_rate_limited = static_cast<int>(value.get<std::int64_t>());
      } else if (entry.key == "max_wait") {
        policy.max_wait = duration(entry);
      } else {
        policy.backoff = parse_backoff(entry);
      }
    }
    return policy;
  }

  Backoff parse_backoff(const Entry& backoff_entry) {
    Backoff backoff;
    const YAML::Mark where = backoff_entry.key_node.Mark();
    for (const Entry& entry : entries(backoff_entry.value, where, backoff_entry.key,
                                      {"initial", "multiplier", "max", "jitter"})) {
      const YAML::Mark at = entry.key_node.Mark();
      if (entry.key == "initial") {
        backoff.initial = duration(entry);
      } else if (entry.key == "max") {
        backoff.max = duration(entry);
      } else if (entry.key == "multiplier") {
        const Json value = scalar(entry);
        if (!value.is_number() || !std::isfinite(value.get<double>()) ||
            value.get<double>() < 1.0) {
          fail(at, entry.key, "expected a number >= 1, got " + value.dump());
        }
        backoff.multiplier = value.get<double>();
      } else {
        const std::string value = text(entry);
        if (value != "full" && value != "none") {
          fail(at, entry.key, "expected 'full' or 'none', got " + quote(value));
        }
        backoff.full_jitter = value == "full";
      }
    }
    return backoff;
  }

  std::string path_;
  std::string context_;  // "workflow 'w', step 's'": where the parser is, for messages
  JsonBudget budget_{kMaxJsonNodes, kMaxJsonNodes, kMaxJsonDepth};
};

}  // namespace

WorkflowsFile parse_workflows(std::string_view yaml_text, std::string_view path_for_errors) {
  return Parser(std::string(path_for_errors)).parse(yaml_text);
}

WorkflowsFile load_workflows_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    throw ConfigError(path + ": cannot read the workflows file: " +
                      (ec ? ec.message() : std::string("no such file")));
  }
  if (!fs::is_regular_file(status)) {
    throw ConfigError(path + ": cannot read the workflows file: not a regular file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open the workflows file");
  std::string text;
  char buffer[64 * 1024];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxFileBytes) {
      throw ConfigError(path + ": the workflows file is larger than " +
                        std::to_string(kMaxFileBytes) + " bytes");
    }
  }
  if (in.bad()) throw ConfigError(path + ": error while reading the workflows file");
  return parse_workflows(text, path);
}

}  // namespace steadfast::config
