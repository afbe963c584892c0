// `tickwire health [URL]`: GET a health endpoint of a running connector
// (default http://127.0.0.1:9464/healthz) and exit 0 on HTTP 200, 1 on any
// other answer, 3 when nothing answers. The image's HEALTHCHECK runs it, so
// the runtime image needs no HTTP client of its own.
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "commands/commands.hpp"

namespace tickwire::connector::commands {
namespace {

struct Target {
  std::string host, port, path;
};

// parse: "http://host[:port][/path]"; IPv6 hosts in brackets.
bool parse(const std::string& url, Target& out) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) return false;
  std::string rest = url.substr(kScheme.size());
  const auto slash = rest.find('/');
  out.path = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string authority = rest.substr(0, slash);
  const auto bracket = authority.find(']');
  const auto colon = authority.rfind(':');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
    out.port = authority.substr(colon + 1);
    authority = authority.substr(0, colon);
  } else {
    out.port = "80";
  }
  if (authority.size() >= 2 && authority.front() == '[' && authority.back() == ']') {
    authority = authority.substr(1, authority.size() - 2);
  }
  out.host = authority;
  return !out.host.empty() && !out.port.empty();
}

// get_status: the HTTP status of GET `t`, or -1 with `why` set.
int get_status(const Target& t, std::string& why) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(t.host.c_str(), t.port.c_str(), &hints, &found); rc != 0) {
    why = fmt::format("resolve {}: {}", t.host, ::gai_strerror(rc));
    return -1;
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, &::freeaddrinfo);
  const int fd = ::socket(found->ai_family, SOCK_STREAM, 0);
  if (fd < 0) {
    why = fmt::format("socket: {}", std::strerror(errno));
    return -1;
  }
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  int status = -1;
  if (::connect(fd, found->ai_addr, found->ai_addrlen) != 0) {
    why = fmt::format("connect {}:{}: {}", t.host, t.port, std::strerror(errno));
  } else {
    const std::string request = fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", t.path, t.host);
    std::string reply;
    char buf[1024];
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
      for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) reply.append(buf, static_cast<std::size_t>(n));
    }
    if (reply.starts_with("HTTP/1.") && reply.size() >= 12) {
      status = std::atoi(reply.substr(9, 3).c_str());
      const auto body = reply.find("\r\n\r\n");
      if (body != std::string::npos) fmt::print("{}", reply.substr(body + 4));
    } else {
      why = fmt::format("no HTTP answer from {}:{}", t.host, t.port);
    }
  }
  ::close(fd);
  return status;
}

}  // namespace

Command add_health(CLI::App& app) {
  auto url = std::make_shared<std::string>("http://127.0.0.1:9464/healthz");
  CLI::App* sub = app.add_subcommand("health", "GET a health endpoint; exit 0 on HTTP 200 (for HEALTHCHECK)");
  sub->add_option("url", *url, "http://host:port/path")->capture_default_str();
  return {sub, [url] {
            Target target;
            if (!parse(*url, target)) {
              fmt::print(stderr, "tickwire health: {}: expected http://host[:port][/path]\n", *url);
              return kExitUsage;
            }
            std::string why;
            const int status = get_status(target, why);
            if (status < 0) {
              fmt::print(stderr, "tickwire health: {}\n", why);
              return kExitIo;
            }
            return status == 200 ? kExitOk : kExitFailure;
          }};
}

}  // namespace tickwire::connector::commands
