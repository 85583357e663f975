// The admin commands, run on the server's loop.
#include "server/admin_commands.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cache/cache_key.h"
#include "dns/header.h"
#include "dns/name.h"
#include "dns/rr_text.h"

namespace holdfast::server {
namespace {

using nlohmann::json;
namespace code = observe::code;

constexpr std::size_t kMaxDumpEntries = 100'000;
constexpr const char* kPinsFile = "pins";
constexpr const char* kStaleModeFile = "stale-mode";

// A query for NAME TYPE (class IN), for building cache keys as the query path does.
std::optional<std::vector<std::uint8_t>> make_query(const std::string& name, std::uint16_t type) {
  std::string wire;
  if (!dns::text_to_wire(name, wire)) return std::nullopt;
  // FORMAT: header (ID 0, RD, QDCOUNT 1), QNAME, QTYPE, QCLASS IN.
  std::vector<std::uint8_t> out = {0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  out.insert(out.end(), wire.begin(), wire.end());
  out.push_back(static_cast<std::uint8_t>(type >> 8));
  out.push_back(static_cast<std::uint8_t>(type & 0xff));
  out.push_back(0);
  out.push_back(1);
  return out;
}

// The cache keys of NAME TYPE, with and without the DO and CD bits.
std::vector<std::string> keys_for(const std::string& name, std::uint16_t type) {
  std::vector<std::string> keys;
  auto query = make_query(name, type);
  if (!query) return keys;
  auto question = dns::read_question(*query, dns::kHeaderSize);
  if (!question) return keys;
  for (bool do_bit : {false, true}) {
    for (bool cd_bit : {false, true}) {
      keys.emplace_back(cache::CacheKey(*query, *question, {do_bit, cd_bit}).view());
    }
  }
  return keys;
}

struct KeyParts {
  std::string name;
  std::uint16_t type = 0;
  std::string name_wire;
};

// FORMAT: a cache key is name (lower-case wire) | QTYPE | QCLASS | bits.
std::optional<KeyParts> split_key(std::string_view key) {
  const dns::Bytes bytes(reinterpret_cast<const std::uint8_t*>(key.data()), key.size());
  auto name = dns::read_name(bytes, 0);
  if (!name || name->wire_len + 5 != key.size()) return std::nullopt;
  return KeyParts{dns::name_to_text(bytes, *name), dns::read_u16(bytes.data() + name->wire_len),
                  std::string(key.substr(0, name->wire_len))};
}

bool ends_with_zone(std::string_view name_wire, const std::string& zone_wire) {
  return dns::is_subdomain(
      dns::Bytes(reinterpret_cast<const std::uint8_t*>(name_wire.data()), name_wire.size()),
      dns::Bytes(reinterpret_cast<const std::uint8_t*>(zone_wire.data()), zone_wire.size()));
}

json entry_facts(const cache::Entry& entry, std::int64_t now_seconds) {
  const std::int64_t age = std::max<std::int64_t>(0, now_seconds - entry.stored_at_seconds);
  const std::int64_t left = static_cast<std::int64_t>(entry.ttl_seconds) - age;
  return json{{"state", left > 0 ? "fresh" : "stale"},
              {"age_seconds", age},
              {"ttl_left_seconds", std::max<std::int64_t>(0, left)},
              {"rcode", entry.rcode}};
}

const char* server_state(const upstream::Forwarder& forwarder, std::size_t server) {
  if (forwarder.circuit().forced_down(server)) return "forced-down";
  return forwarder.circuit().down(server) ? "down" : "up";
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (text.empty() || text.back() != '.') text += '.';
  return text;
}

const char* string_arg(const json& request, const char* name) {
  auto found = request.find(name);
  return found != request.end() && found->is_string() ? found->get_ref<const std::string&>().c_str()
                                                      : nullptr;
}

}  // namespace

AdminCommands::AdminCommands(uv_loop_t* loop, Server& server, std::string state_dir)
    : loop_(loop), server_(server), state_dir_(std::move(state_dir)) {
  started_ms_ = server_.clock_.monotonic_ms();
  uv_timer_init(loop_, &sampler_);
  sampler_.data = this;
  uv_timer_start(
      &sampler_, [](uv_timer_t* t) noexcept { static_cast<AdminCommands*>(t->data)->sample(); },
      1000, 1000);
  uv_unref(reinterpret_cast<uv_handle_t*>(&sampler_));
  // What the operator left: pins and the stale mode survive restarts.
  std::ifstream pins(std::filesystem::path(state_dir_) / kPinsFile);
  std::string name;
  std::string type;
  while (pins >> name >> type) {
    if (auto qtype = dns::text_to_type(type)) {
      pins_.push_back(Pin{lower(name), *qtype});
      apply_pin(pins_.back(), true);
    }
  }
  std::ifstream mode_file(std::filesystem::path(state_dir_) / kStaleModeFile);
  std::string mode;
  if (mode_file >> mode && (mode == "force" || mode == "off")) {
    server_.pipeline_.set_stale_mode(mode == "force" ? StaleMode::kForce : StaleMode::kOff);
    spdlog::warn(
        "stale mode {} (set by the operator before the restart; `holdfastctl stale-mode "
        "auto` undoes it)",
        mode);
  }
  if (!pins_.empty()) spdlog::info("{} pinned names restored", pins_.size());
}

AdminCommands::~AdminCommands() {
  close();
}

void AdminCommands::close() noexcept {
  auto* handle = reinterpret_cast<uv_handle_t*>(&sampler_);
  if (handle->loop != nullptr && !uv_is_closing(handle)) uv_close(handle, nullptr);
}

void AdminCommands::sample() noexcept {
  const PipelineCounters& c = server_.pipeline_.counters();
  std::rotate(totals_.begin(), totals_.begin() + 1, totals_.end());
  totals_.back() = c.queries_udp + c.queries_tcp;
  samples_ = std::min(samples_ + 1, totals_.size());
}

json AdminCommands::handle(const json& request) noexcept {
  try {
    const std::string command = observe::request_command(request).value_or("");
    if (command == observe::cmd::kStats) return observe::make_ok(stats());
    if (command == observe::cmd::kLookup) return lookup(request);
    if (command == observe::cmd::kDump) return dump(request);
    if (command == observe::cmd::kFlush) return flush(request);
    if (command == observe::cmd::kPin) return pin(request, true);
    if (command == observe::cmd::kUnpin) return pin(request, false);
    if (command == observe::cmd::kStaleMode) return stale_mode(request);
    if (command == observe::cmd::kUpstream) return upstream(request);
    if (command == observe::cmd::kSnapshotExport) return snapshot(request, false);
    if (command == observe::cmd::kSnapshotImport) return snapshot(request, true);
    return observe::make_unknown_command(command);
  } catch (const std::exception& e) {
    return observe::make_error(code::kInternal, e.what());
  }
}

json AdminCommands::stats() {
  const PipelineCounters& c = server_.pipeline_.counters();
  const std::uint64_t queries = c.queries_udp + c.queries_tcp;
  double qps = 0;
  if (samples_ >= 2) {
    const std::uint64_t oldest = totals_[totals_.size() - samples_];
    qps = static_cast<double>(totals_.back() - oldest) / static_cast<double>(samples_ - 1);
  }
  const std::uint64_t lookups = c.cache_hits + c.cache_misses + c.stale_answers;
  json blocks = json::array();
  for (const auto& zone : server_.zones_) {
    json block{
        {"name", zone->name},        {"cache_entries", zone->cache ? zone->cache->size() : 0},
        {"circuit", "closed"},       {"degraded", false},
        {"queue_length", 0},         {"inflight", 0},
        {"upstreams", json::array()}};
    if (zone->forwarder) {
      const upstream::Forwarder& f = *zone->forwarder;
      block["circuit"] = f.circuit_open() ? "open" : "closed";
      block["degraded"] = f.degraded();
      block["queue_length"] = f.queue_length();
      block["inflight"] = f.inflight();
      const auto names = f.server_names();
      for (std::size_t i = 0; i < names.size(); ++i) {
        block["upstreams"].push_back({{"address", names[i]}, {"state", server_state(f, i)}});
      }
    }
    blocks.push_back(std::move(block));
  }
  json store{{"state", "off"}, {"entries", 0}, {"bytes", 0}, {"map_size", 0}, {"flush_lag_ms", 0}};
  if (const cache::PersistentStore* st = server_.store_.get()) {
    // Read-only (a read-only directory, or a full disk until there is room) still holds and
    // serves its entries.
    const cache::StoreState state = st->state();
    const bool open = state == cache::StoreState::kOpen || state == cache::StoreState::kReadOnly;
    const char* state_name = state == cache::StoreState::kOpen       ? "open"
                             : state == cache::StoreState::kReadOnly ? "read_only"
                                                                     : "memory_only";
    const auto& sc = st->counters();
    const std::uint64_t waiting = sc.queue_length.load(std::memory_order_relaxed);
    const std::int64_t lag = waiting == 0 ? 0
                                          : server_.clock_.monotonic_ms() -
                                                sc.last_commit_ms.load(std::memory_order_relaxed);
    store = {{"state", state_name},
             {"entries", open ? st->entry_count() : 0},
             {"bytes", open ? st->used_bytes() : 0},
             {"map_size", st->options().size_bytes},
             {"flush_lag_ms", std::max<std::int64_t>(0, lag)},
             {"problem", st->problem()}};
  }
  return {{"version", server_.options_.version},
          {"uptime_seconds", (server_.clock_.monotonic_ms() - started_ms_) / 1000},
          {"queries_total", queries},
          {"queries_per_second", qps},
          {"cache_hit_ratio",
           lookups ? static_cast<double>(c.cache_hits) / static_cast<double>(lookups) : 0.0},
          {"stale_ratio",
           queries ? static_cast<double>(c.stale_answers) / static_cast<double>(queries) : 0.0},
          {"stale_mode", to_string(server_.pipeline_.stale_mode())},
          {"blocks", std::move(blocks)},
          {"store", std::move(store)}};
}

json AdminCommands::lookup(const json& request) {
  const char* name = string_arg(request, "name");
  const char* type_text = string_arg(request, "type");
  if (name == nullptr) return observe::make_error(code::kInvalidArgument, "lookup needs a name");
  auto type = dns::text_to_type(type_text != nullptr ? type_text : "A");
  if (!type) return observe::make_error(code::kInvalidArgument, "unknown type");
  const std::string qname = lower(name);
  std::vector<std::string> keys = keys_for(qname, *type);
  if (keys.empty()) return observe::make_error(code::kInvalidArgument, "not a domain name");
  const std::int64_t now = server_.clock_.wall_seconds();
  json entries = json::array();
  for (const auto& zone : server_.zones_) {
    if (!zone->cache) continue;
    for (const std::string& key : keys) {
      std::optional<cache::Entry> entry = zone->cache->peek(key);
      const char* source = "memory";
      if (!entry && zone->store != nullptr) {
        entry = zone->store->get(key);
        source = "store";
      }
      if (!entry) continue;
      json facts = entry_facts(*entry, now);
      facts["block"] = zone->name;
      facts["source"] = source;
      facts["pinned"] = zone->cache->pinned(key);
      facts["dnssec_ok"] = (key.back() & 1) != 0;
      facts["records"] = dns::records_as_text(entry->wire);
      entries.push_back(std::move(facts));
    }
  }
  return observe::make_ok(
      {{"name", qname}, {"type", dns::type_to_text(*type)}, {"entries", std::move(entries)}});
}

json AdminCommands::dump(const json& request) {
  const bool stale_only = request.value("stale", false);
  std::string zone_wire;
  if (const char* zone = string_arg(request, "zone")) {
    if (!dns::text_to_wire(lower(zone), zone_wire)) {
      return observe::make_error(code::kInvalidArgument, "not a zone name");
    }
  }
  const std::int64_t now = server_.clock_.wall_seconds();
  json entries = json::array();
  bool truncated = false;
  for (const auto& zone : server_.zones_) {
    if (!zone->cache) continue;
    zone->cache->for_each([&](std::string_view key, const cache::Entry& entry, bool pinned) {
      if (entries.size() >= kMaxDumpEntries) {
        truncated = true;
        return;
      }
      auto parts = split_key(key);
      if (!parts || (!zone_wire.empty() && !ends_with_zone(parts->name_wire, zone_wire))) return;
      json facts = entry_facts(entry, now);
      if (stale_only && facts["state"] != "stale") return;
      facts["block"] = zone->name;
      facts["name"] = parts->name;
      facts["type"] = dns::type_to_text(parts->type);
      facts["pinned"] = pinned;
      entries.push_back(std::move(facts));
    });
  }
  return observe::make_ok({{"entries", std::move(entries)}, {"truncated", truncated}});
}

json AdminCommands::flush(const json& request) {
  std::string wire;
  bool whole_zone = false;
  if (const char* name = string_arg(request, "name")) {
    if (!dns::text_to_wire(lower(name), wire)) {
      return observe::make_error(code::kInvalidArgument, "not a domain name");
    }
  } else if (const char* zone = string_arg(request, "zone")) {
    if (!dns::text_to_wire(lower(zone), wire)) {
      return observe::make_error(code::kInvalidArgument, "not a zone name");
    }
    whole_zone = true;
  } else if (!request.value("all", false)) {
    return observe::make_error(code::kInvalidArgument, "flush needs name, zone or all");
  }
  auto match = [&](std::string_view key) {
    if (wire.empty()) return true;
    auto parts = split_key(key);
    if (!parts) return false;
    return whole_zone ? ends_with_zone(parts->name_wire, wire) : parts->name_wire == wire;
  };
  std::size_t removed = 0;
  for (const auto& zone : server_.zones_) {
    if (zone->cache) removed += zone->cache->erase_if(match);
  }
  std::size_t removed_stored = 0;
  if (server_.store_ && server_.store_->state() == cache::StoreState::kOpen) {
    removed_stored = server_.store_->erase_matching(match);
  }
  spdlog::info("flush by the operator: {} cached answers, {} stored answers removed", removed,
               removed_stored);
  return observe::make_ok({{"removed", removed}, {"removed_stored", removed_stored}});
}

void AdminCommands::apply_pin(const Pin& pin, bool pinned) {
  for (const std::string& key : keys_for(pin.name, pin.type)) {
    for (const auto& zone : server_.zones_) {
      if (zone->cache) zone->cache->set_pinned(key, pinned);
    }
    if (server_.store_) server_.store_->set_pinned(key, pinned);
  }
}

json AdminCommands::pin(const json& request, bool pinned) {
  const char* name = string_arg(request, "name");
  const char* type_text = string_arg(request, "type");
  if (name == nullptr || type_text == nullptr) {
    return observe::make_error(code::kInvalidArgument, "pin needs a name and a type");
  }
  auto type = dns::text_to_type(type_text);
  std::string wire;
  if (!type || !dns::text_to_wire(lower(name), wire)) {
    return observe::make_error(code::kInvalidArgument, "not a name and a type");
  }
  const Pin p{lower(name), *type};
  auto found = std::find_if(pins_.begin(), pins_.end(),
                            [&](const Pin& q) { return q.name == p.name && q.type == p.type; });
  if (pinned && found == pins_.end()) pins_.push_back(p);
  if (!pinned && found != pins_.end()) pins_.erase(found);
  apply_pin(p, pinned);
  save_pins();
  spdlog::info("{} {} {} by the operator", pinned ? "pinned" : "unpinned", p.name,
               dns::type_to_text(p.type));
  return observe::make_ok(
      {{"name", p.name}, {"type", dns::type_to_text(p.type)}, {"pinned", pinned}});
}

void AdminCommands::save_pins() const {
  std::error_code ec;
  std::filesystem::create_directories(state_dir_, ec);
  std::ofstream out(std::filesystem::path(state_dir_) / kPinsFile, std::ios::trunc);
  for (const Pin& p : pins_) out << p.name << ' ' << dns::type_to_text(p.type) << '\n';
}

void AdminCommands::save_stale_mode() const {
  std::error_code ec;
  std::filesystem::create_directories(state_dir_, ec);
  const auto path = std::filesystem::path(state_dir_) / kStaleModeFile;
  if (server_.pipeline_.stale_mode() == StaleMode::kAuto) {
    std::filesystem::remove(path, ec);
    return;
  }
  std::ofstream(path, std::ios::trunc) << to_string(server_.pipeline_.stale_mode()) << '\n';
}

json AdminCommands::stale_mode(const json& request) {
  if (const char* mode = string_arg(request, "mode")) {
    const std::string m = mode;
    if (m != "auto" && m != "force" && m != "off") {
      return observe::make_error(code::kInvalidArgument, "stale-mode is auto, force or off");
    }
    const StaleMode next = m == "force" ? StaleMode::kForce
                           : m == "off" ? StaleMode::kOff
                                        : StaleMode::kAuto;
    if (next != server_.pipeline_.stale_mode()) {
      server_.pipeline_.set_stale_mode(next);
      save_stale_mode();
      spdlog::warn("stale mode {} (set by the operator)", m);
    }
  }
  return observe::make_ok({{"mode", to_string(server_.pipeline_.stale_mode())}});
}

json AdminCommands::upstream(const json& request) {
  const std::string action = string_arg(request, "action") ? string_arg(request, "action") : "list";
  if (action == "down" || action == "up") {
    const char* address = string_arg(request, "address");
    if (address == nullptr) return observe::make_error(code::kInvalidArgument, "which address?");
    bool found = false;
    for (const auto& zone : server_.zones_) {
      if (zone->forwarder)
        found = zone->forwarder->force_server(address, action == "down") || found;
    }
    if (!found) {
      return observe::make_error(code::kNotFound, std::string("no upstream ") + address +
                                                      " (give it as IP:port, as `upstream list` "
                                                      "shows)");
    }
  } else if (action != "list") {
    return observe::make_error(code::kInvalidArgument, "upstream list, down or up");
  }
  json list = json::array();
  for (const auto& zone : server_.zones_) {
    if (!zone->forwarder) continue;
    const upstream::Forwarder& f = *zone->forwarder;
    const auto names = f.server_names();
    for (std::size_t i = 0; i < names.size(); ++i) {
      list.push_back({{"block", zone->name},
                      {"address", names[i]},
                      {"state", server_state(f, i)},
                      {"consecutive_failures", f.circuit().consecutive_fails(i)},
                      {"circuit", f.circuit_open() ? "open" : "closed"}});
    }
  }
  return observe::make_ok({{"upstreams", std::move(list)}});
}

json AdminCommands::snapshot(const json& request, bool import) {
  const char* file = string_arg(request, "file");
  if (file == nullptr) return observe::make_error(code::kInvalidArgument, "which file?");
  cache::PersistentStore* store = server_.store_.get();
  if (store == nullptr || store->state() != cache::StoreState::kOpen) {
    return observe::make_error(code::kFailed, "the store is not open (persist off or memory-only)");
  }
  if (!import) {
    auto stats = store->export_snapshot(file);
    if (!stats) return observe::make_error(code::kFailed, stats.error().message);
    return observe::make_ok({{"file", file}, {"entries", stats->entries}, {"bytes", stats->bytes}});
  }
  auto stats = store->import_snapshot(file);
  if (!stats) return observe::make_error(code::kFailed, stats.error().message);
  return observe::make_ok({{"file", file},
                           {"imported", stats->imported},
                           {"skipped_fresher", stats->skipped_fresher},
                           {"rejected", stats->rejected}});
}

}  // namespace holdfast::server
