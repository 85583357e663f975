// rtnetlink by hand: RTM_NEWLINK/DELLINK, RTM_NEWADDR/DELADDR, each with NLM_F_ACK.
#include "node/link.h"

#include <arpa/inet.h>
#include <net/if.h>  // before the linux/ headers, which would define IFF_* again

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace holdfast::node {

namespace {

// One request: header, fixed part, attributes, built in a buffer with NLMSG alignment.
class Request {
 public:
  Request(std::uint16_t type, std::uint16_t flags) {
    header()->nlmsg_len = NLMSG_LENGTH(0);
    header()->nlmsg_type = type;
    header()->nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
    header()->nlmsg_seq = 1;
  }
  nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buffer_.data()); }
  template <class T>
  T* append_fixed() {
    const std::size_t at = NLMSG_ALIGN(header()->nlmsg_len);
    header()->nlmsg_len = static_cast<std::uint32_t>(at + NLMSG_ALIGN(sizeof(T)));
    return reinterpret_cast<T*>(buffer_.data() + at);
  }
  rtattr* attribute(std::uint16_t type, const void* data, std::size_t length) {
    const std::size_t at = NLMSG_ALIGN(header()->nlmsg_len);
    auto* attr = reinterpret_cast<rtattr*>(buffer_.data() + at);
    attr->rta_type = type;
    attr->rta_len = static_cast<std::uint16_t>(RTA_LENGTH(length));
    if (length > 0) std::memcpy(RTA_DATA(attr), data, length);
    header()->nlmsg_len = static_cast<std::uint32_t>(at + RTA_ALIGN(attr->rta_len));
    return attr;
  }
  void close_nest(rtattr* nest) {
    nest->rta_len = static_cast<std::uint16_t>(buffer_.data() + header()->nlmsg_len -
                                               reinterpret_cast<std::uint8_t*>(nest));
  }

 private:
  alignas(nlmsghdr) std::array<std::uint8_t, 512> buffer_{};
};

// Sends the request, returns 0 or the kernel's errno.
int transact(Request& request) {
  const int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return errno;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  int result = 0;
  if (::sendto(fd, request.header(), request.header()->nlmsg_len, 0,
               reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
    result = errno;
  } else {
    alignas(nlmsghdr) std::array<std::uint8_t, 4096> reply{};
    const ssize_t n = ::recv(fd, reply.data(), reply.size(), 0);
    if (n < 0) {
      result = errno;
    } else {
      auto* header = reinterpret_cast<nlmsghdr*>(reply.data());
      if (NLMSG_OK(header, static_cast<unsigned>(n)) && header->nlmsg_type == NLMSG_ERROR) {
        result = -static_cast<nlmsgerr*>(NLMSG_DATA(header))->error;
      } else {
        result = EPROTO;
      }
    }
  }
  ::close(fd);
  return result;
}

int add_link(const std::string& name, const char* kind) {
  Request request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  request.append_fixed<ifinfomsg>()->ifi_family = AF_UNSPEC;
  request.attribute(IFLA_IFNAME, name.c_str(), name.size() + 1);
  rtattr* info = request.attribute(IFLA_LINKINFO, nullptr, 0);
  request.attribute(IFLA_INFO_KIND, kind, std::strlen(kind));
  request.close_nest(info);
  return transact(request);
}

int set_up(int index) {
  Request request(RTM_NEWLINK, 0);
  auto* info = request.append_fixed<ifinfomsg>();
  info->ifi_family = AF_UNSPEC;
  info->ifi_index = index;
  info->ifi_flags = IFF_UP;
  info->ifi_change = IFF_UP;
  return transact(request);
}

struct Address {
  int family = AF_INET;
  std::array<std::uint8_t, 16> bytes{};
  std::size_t length = 0;
};

bool parse_address(const std::string& ip, Address& out) {
  if (::inet_pton(AF_INET, ip.c_str(), out.bytes.data()) == 1) {
    out.family = AF_INET;
    out.length = 4;
    return true;
  }
  if (::inet_pton(AF_INET6, ip.c_str(), out.bytes.data()) == 1) {
    out.family = AF_INET6;
    out.length = 16;
    return true;
  }
  return false;
}

int change_address(std::uint16_t type, int index, const Address& address) {
  Request request(type, type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0);
  auto* message = request.append_fixed<ifaddrmsg>();
  message->ifa_family = static_cast<std::uint8_t>(address.family);
  message->ifa_prefixlen = static_cast<std::uint8_t>(address.length * 8);
  // No duplicate address detection: a tentative address cannot be bound, and this one is ours.
  message->ifa_flags = address.family == AF_INET6 ? IFA_F_NODAD : 0;
  message->ifa_scope = RT_SCOPE_UNIVERSE;
  message->ifa_index = static_cast<std::uint32_t>(index);
  request.attribute(IFA_LOCAL, address.bytes.data(), address.length);
  request.attribute(IFA_ADDRESS, address.bytes.data(), address.length);
  return transact(request);
}

std::string reason(int error_number) {
  return std::strerror(error_number);
}

}  // namespace

bool interface_exists(const std::string& name) {
  return ::if_nametoindex(name.c_str()) != 0;
}

Result<LinkReport> ensure_interface(const std::string& name, const std::vector<std::string>& ips) {
  LinkReport report;
  int index = static_cast<int>(::if_nametoindex(name.c_str()));
  if (index == 0) {
    int error_number = add_link(name, "dummy");
    // CONFIG_DUMMY off: the kernel does not know the kind (EOPNOTSUPP, as `ip link` reports
    // "Unknown device type"). An up bridge without ports holds local addresses just as well.
    if (error_number == EOPNOTSUPP) {
      report.used_bridge = true;
      error_number = add_link(name, "bridge");
    }
    if (error_number != 0 && error_number != EEXIST) {
      return fail("add link " + name + ": " + reason(error_number));
    }
    report.created = error_number == 0;
    index = static_cast<int>(::if_nametoindex(name.c_str()));
    if (index == 0) return fail("add link " + name + ": gone after it was added");
  }
  if (int error_number = set_up(index); error_number != 0) {
    return fail("set link " + name + " up: " + reason(error_number));
  }
  // Every address is tried: one the kernel refuses does not keep the others off the link.
  for (const std::string& ip : ips) {
    Address address;
    if (!parse_address(ip, address)) {
      report.errors.push_back("'" + ip + "' is not an IP address");
      continue;
    }
    const int error_number = change_address(RTM_NEWADDR, index, address);
    if (error_number == 0) {
      report.added.push_back(ip);
    } else if (error_number != EEXIST) {
      report.errors.push_back("add address " + ip + " to " + name + ": " + reason(error_number));
    }
  }
  return report;
}

Result<void> remove_interface(const std::string& name) {
  const int index = static_cast<int>(::if_nametoindex(name.c_str()));
  if (index == 0) return {};
  Request request(RTM_DELLINK, 0);
  auto* info = request.append_fixed<ifinfomsg>();
  info->ifi_family = AF_UNSPEC;
  info->ifi_index = index;
  if (int error_number = transact(request); error_number != 0 && error_number != ENODEV) {
    return fail("delete link " + name + ": " + reason(error_number));
  }
  return {};
}

Result<void> remove_addresses(const std::string& name, const std::vector<std::string>& ips) {
  const int index = static_cast<int>(::if_nametoindex(name.c_str()));
  if (index == 0) return {};
  std::string errors;
  for (const std::string& ip : ips) {
    Address address;
    if (!parse_address(ip, address)) continue;
    const int error_number = change_address(RTM_DELADDR, index, address);
    if (error_number != 0 && error_number != EADDRNOTAVAIL && error_number != ENODEV) {
      errors +=
          (errors.empty() ? "" : "; ") + ("delete address " + ip + ": " + reason(error_number));
    }
  }
  if (!errors.empty()) return fail(errors);
  return {};
}

}  // namespace holdfast::node
