#include "model/event.h"

namespace goscope::model {

const char* event_kind_name(EventKind k) {
  switch (k) {
    case EventKind::kGoCreate:
      return "go-create";
    case EventKind::kGoExit:
      return "go-exit";
    case EventKind::kPark:
      return "park";
    case EventKind::kReady:
      return "ready";
    case EventKind::kStatus:
      return "status";
    case EventKind::kChanMake:
      return "chan-make";
    case EventKind::kChanSend:
      return "chan-send";
    case EventKind::kChanRecv:
      return "chan-recv";
    case EventKind::kChanClose:
      return "chan-close";
    case EventKind::kSelect:
      return "select";
    case EventKind::kSyncBlock:
      return "sync-block";
    case EventKind::kSyncRelease:
      return "sync-release";
    case EventKind::kMutexLock:
      return "mutex-lock";
    case EventKind::kMutexUnlock:
      return "mutex-unlock";
    case EventKind::kRLock:
      return "rlock";
    case EventKind::kRUnlock:
      return "runlock";
    case EventKind::kWaitGroupWait:
      return "wg-wait";
    case EventKind::kCondWait:
      return "cond-wait";
    case EventKind::kCondSignal:
      return "cond-signal";
    case EventKind::kStopTheWorld:
      return "stw-begin";
    case EventKind::kStartTheWorld:
      return "stw-end";
    case EventKind::kCpuSample:
      return "cpu-sample";
    case EventKind::kCount_:
      break;
  }
  return "?";
}

const char* object_kind_name(ObjectKind k) {
  switch (k) {
    case ObjectKind::kNone:
      return "";
    case ObjectKind::kChannel:
      return "chan";
    case ObjectKind::kMutex:
      return "sync.Mutex";
    case ObjectKind::kRWMutex:
      return "sync.RWMutex";
    case ObjectKind::kWaitGroup:
      return "sync.WaitGroup";
    case ObjectKind::kCond:
      return "sync.Cond";
    case ObjectKind::kSemaphore:
      return "semaphore";
    case ObjectKind::kNetwork:
      return "netpoll";
    case ObjectKind::kTimer:
      return "timer";
    case ObjectKind::kOther:
      return "object";
  }
  return "?";
}

size_t StackTable::Hash::operator()(const std::vector<uint64_t>& v) const noexcept {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the words
  for (uint64_t x : v) h = (h ^ x) * 1099511628211ull;
  return static_cast<size_t>(h);
}

StackId StackTable::intern(std::span<const uint64_t> pcs) {
  if (pcs.empty()) return 0;
  std::vector<uint64_t> key(pcs.begin(), pcs.end());
  auto it = ids_.find(key);
  if (it != ids_.end()) return it->second;
  stacks_.push_back(key);
  const auto id = static_cast<StackId>(stacks_.size());
  ids_.emplace(std::move(key), id);
  return id;
}

std::span<const uint64_t> StackTable::get(StackId id) const {
  if (id == 0 || id > stacks_.size()) return {};
  return stacks_[id - 1];
}

}  // namespace goscope::model
