#include "support/tcp_sockets.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace tickwire::testing {
namespace {

// socket_inode: the inode of this process's IPv4 TCP connection from
// local_port to peer_port, from /proc/self/net/tcp; empty when there is none.
std::string socket_inode(std::uint16_t local_port, std::uint16_t peer_port) {
  std::ifstream table("/proc/self/net/tcp");
  std::string line;
  std::getline(table, line);  // the column names
  constexpr std::string_view kEstablished = "01";
  const auto port_of = [](const std::string& address) {  // "0100007F:E2F9": the port in hex after the colon
    const auto colon = address.find(':');
    return colon == std::string::npos ? 0ul : std::strtoul(address.c_str() + colon + 1, nullptr, 16);
  };
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, peer, state, queues, timer, retransmits, uid, timeout, inode;
    if (!(fields >> slot >> local >> peer >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode)) continue;
    if (state == kEstablished && port_of(local) == local_port && port_of(peer) == peer_port && inode != "0") {
      return inode;
    }
  }
  return {};
}

}  // namespace

std::optional<bool> tcp_no_delay(std::uint16_t local_port, std::uint16_t peer_port) {
  // The socket is found by its inode, and only its descriptor is used: the
  // other descriptors belong to other threads (a server that accepts and
  // closes), and touching one of them while its thread closes it is a race.
  const std::string inode = socket_inode(local_port, peer_port);
  if (inode.empty()) return std::nullopt;
  const std::string target = "socket:[" + inode + "]";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    std::error_code link_ec;
    const auto link = std::filesystem::read_symlink(entry.path(), link_ec);
    if (link_ec || link.string() != target) continue;
    const int fd = std::atoi(entry.path().filename().c_str());
    int on = 0;
    socklen_t len = sizeof on;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len) != 0) return std::nullopt;
    return on != 0;
  }
  return std::nullopt;
}

}  // namespace tickwire::testing
