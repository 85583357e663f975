# The metrics half of observe/ (request counters, the snapshot, the Prometheus exposition, health
# and readiness); included from resolver/CMakeLists.txt.
find_package(prometheus-cpp CONFIG REQUIRED)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
add_library(holdfast_observe STATIC observe/request_metrics.cc observe/metrics.cc
  observe/loop_bridge.cc observe/http_endpoints.cc)
target_link_libraries(holdfast_observe PUBLIC holdfast_base prometheus-cpp::core
  PRIVATE PkgConfig::HTTPLIB)
