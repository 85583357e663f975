// The node-local interface: a dummy link (a port-less bridge where the kernel has no dummy
// driver) carrying the local IPs, over rtnetlink. Blocking but quick (one socket round trip per
// change); safe from any thread.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace holdfast::node {

struct LinkReport {
  bool created = false;             // false: an existing link of that name was adopted
  bool used_bridge = false;         // the kernel has no dummy driver
  std::vector<std::string> added;   // addresses that were missing
  std::vector<std::string> errors;  // addresses the kernel refused
};

// Creates the link when it is missing (dummy, else bridge), sets it up, adds each address that
// is missing (IPv4 /32, IPv6 /128 without DAD, so it can be bound at once). An error is returned
// when the link cannot be added or set up ("add link NAME: ..."); an address the kernel refuses
// is reported in LinkReport::errors ("add address IP to NAME: ...") and the others still added.
Result<LinkReport> ensure_interface(const std::string& name, const std::vector<std::string>& ips);

// True when a link of that name exists.
bool interface_exists(const std::string& name);

// Deletes the link; a missing link is not an error.
Result<void> remove_interface(const std::string& name);

// Deletes the addresses from the link (what the guardian does, so traffic to them stops being
// local); missing ones are skipped.
Result<void> remove_addresses(const std::string& name, const std::vector<std::string>& ips);

}  // namespace holdfast::node
