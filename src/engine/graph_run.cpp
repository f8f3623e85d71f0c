#include "engine/graph_run.h"

#include <string>

namespace steadfast::engine {

bool finished(NodeState s) noexcept {
  return s == NodeState::completed || s == NodeState::skipped || s == NodeState::continued;
}

std::string_view to_string(NodeState s) noexcept {
  switch (s) {
    case NodeState::waiting: return "waiting";
    case NodeState::ready: return "ready";
    case NodeState::running: return "running";
    case NodeState::completed: return "completed";
    case NodeState::skipped: return "skipped";
    case NodeState::continued: return "continued";
    case NodeState::dead: return "dead";
  }
  return "unknown";
}

GraphRun::GraphRun(const WorkflowGraph& graph)
    : graph_(&graph), nodes_(graph.size(), NodeState::waiting), need_(graph.size()), open_(graph.size()) {
  for (std::size_t n = 0; n < graph.size(); ++n) {
    need_[n] = graph.needs(n).size();
    if (need_[n] == 0) nodes_[n] = NodeState::ready;
  }
}

GraphRunState GraphRun::state() const noexcept {
  if (cancelled_) return GraphRunState::cancelled;
  if (failed_) return GraphRunState::failed;
  return open_ == 0 ? GraphRunState::completed : GraphRunState::running;
}

std::vector<std::size_t> GraphRun::live_nodes() const {
  std::vector<std::size_t> out;
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    if (nodes_[n] == NodeState::ready || nodes_[n] == NodeState::running) out.push_back(n);
  }
  return out;
}

bool GraphRun::claim(std::size_t n) {
  if (nodes_.at(n) != NodeState::ready) {
    throw GraphRunError("node " + std::to_string(n) + " is " + std::string(to_string(nodes_[n])) + ", not ready");
  }
  if (failed_ || cancelled_) {
    nodes_[n] = NodeState::waiting;  // its token is dropped; a replay gives it one again
    return false;
  }
  nodes_[n] = NodeState::running;
  return true;
}

std::vector<std::size_t> GraphRun::finish(std::size_t n, NodeEnd end) {
  if (nodes_.at(n) != NodeState::running) {
    throw GraphRunError("node " + std::to_string(n) + " is " + std::string(to_string(nodes_[n])) + ", not running");
  }
  std::vector<std::size_t> ready;
  if (end == NodeEnd::dead) {
    nodes_[n] = NodeState::dead;
    failed_ = true;
    return ready;
  }
  nodes_[n] = end == NodeEnd::completed ? NodeState::completed
              : end == NodeEnd::skipped ? NodeState::skipped
                                        : NodeState::continued;
  --open_;
  for (std::size_t d : graph_->dependents(n)) {
    if (--need_[d] == 0 && !failed_ && !cancelled_) {
      nodes_[d] = NodeState::ready;
      ready.push_back(d);
    }
  }
  return ready;
}

void GraphRun::retry(std::size_t n) {
  if (nodes_.at(n) != NodeState::running) {
    throw GraphRunError("node " + std::to_string(n) + " is " + std::string(to_string(nodes_[n])) + ", not running");
  }
  nodes_[n] = NodeState::ready;
}

void GraphRun::cancel() {
  if (state() != GraphRunState::running) return;
  cancelled_ = true;
}

std::vector<std::size_t> GraphRun::replay() {
  if (state() != GraphRunState::failed) throw GraphRunError("only a failed run is replayed");
  failed_ = false;
  std::vector<std::size_t> out;
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    if ((nodes_[n] == NodeState::dead || nodes_[n] == NodeState::waiting) && need_[n] == 0) {
      nodes_[n] = NodeState::ready;
      out.push_back(n);
    }
  }
  return out;
}

}  // namespace steadfast::engine
