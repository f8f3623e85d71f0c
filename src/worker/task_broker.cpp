#include "worker/task_broker.h"

#include <algorithm>

namespace steadfast {

void TaskBroker::attach(std::function<void()> on_room,
                        std::function<void(const std::string&, Resolution)> on_resolved) {
  std::lock_guard lock(mu_);
  on_room_ = std::move(on_room);
  on_resolved_ = std::move(on_resolved);
}

void TaskBroker::detach() {
  std::lock_guard lock(mu_);
  on_room_ = nullptr;
  on_resolved_ = nullptr;
}

int TaskBroker::room(const std::string& queue, std::chrono::steady_clock::time_point now) const {
  std::lock_guard lock(mu_);
  int wanted = 0;
  for (const Waiter& w : waiters_) {
    if (w.queues.contains(queue)) wanted += w.max;
  }
  if (auto p = polled_.find(queue); p != polled_.end() && now - p->second.at < kPolledWithin) {
    wanted += p->second.max;
  }
  for (const TaskOffer& o : offers_) {
    if (o.token.queue == queue) --wanted;
  }
  return std::max(wanted, 0);
}

void TaskBroker::offer(TaskOffer offer) {
  std::vector<std::function<void()>> wakes;
  {
    std::lock_guard lock(mu_);
    offer.offered_at = std::chrono::steady_clock::now();
    for (const Waiter& w : waiters_) {
      if (w.queues.contains(offer.token.queue) && w.tasks.contains(offer.task) && w.wake) wakes.push_back(w.wake);
    }
    offers_.push_back(std::move(offer));
  }
  for (auto& wake : wakes) wake();
}

bool TaskBroker::withdraw(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = std::find_if(offers_.begin(), offers_.end(), [&](const TaskOffer& o) { return o.key == key; });
  if (it == offers_.end()) return false;
  offers_.erase(it);
  return true;
}

void TaskBroker::expire_stale(std::chrono::steady_clock::time_point now) {
  std::vector<std::string> expired;
  std::function<void(const std::string&, Resolution)> report;
  {
    std::lock_guard lock(mu_);
    for (auto it = offers_.begin(); it != offers_.end();) {
      if (now - it->offered_at >= kOfferPatience) {
        expired.push_back(it->key);
        it = offers_.erase(it);
      } else {
        ++it;
      }
    }
    report = on_resolved_;
  }
  if (!report) return;
  for (const std::string& key : expired) report(key, Resolution::not_taken);
}

TaskBroker::WaiterHandle TaskBroker::wait(Waiter w) {
  std::function<void()> room;
  WaiterHandle h;
  {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    for (const std::string& q : w.queues) polled_[q] = Polled{now, w.max};
    h = waiters_.insert(waiters_.end(), std::move(w));
    room = on_room_;
  }
  if (room) room();
  return h;
}

void TaskBroker::stop_waiting(WaiterHandle h) {
  std::lock_guard lock(mu_);
  waiters_.erase(h);
}

std::vector<TaskOffer> TaskBroker::take(WaiterHandle h) {
  std::vector<TaskOffer> out;
  std::function<void()> room;
  {
    std::lock_guard lock(mu_);
    for (auto it = offers_.begin(); it != offers_.end() && static_cast<int>(out.size()) < h->max;) {
      if (h->queues.contains(it->token.queue) && h->tasks.contains(it->task)) {
        out.push_back(std::move(*it));
        it = offers_.erase(it);
      } else {
        ++it;
      }
    }
    if (!out.empty()) room = on_room_;
  }
  // Offers taken make room for the read-ahead of the next claim.
  if (room) room();
  return out;
}

void TaskBroker::resolve(const std::string& key, Resolution r) {
  std::function<void(const std::string&, Resolution)> report;
  {
    std::lock_guard lock(mu_);
    report = on_resolved_;
  }
  if (report) report(key, r);
}

}  // namespace steadfast
