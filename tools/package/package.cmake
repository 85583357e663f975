# Installing Holdfast on a host (`cmake --install`) and packaging it as a .deb (`cpack -G DEB`,
# `tools/dev package`): the Debian layout, the systemd unit, the default Corefile, man pages,
# bash completions. The binaries' install() rules are next to their targets.
include(GNUInstallDirs)

set(HOLDFAST_PACKAGE_DIR ${CMAKE_CURRENT_LIST_DIR})
# The unit names /usr/sbin/holdfast and /etc/holdfast/Corefile: the Debian layout. /etc and the
# unit folder are absolute (use DESTDIR to install elsewhere), so a package built from any build
# tree puts them where systemd and dpkg look; everything else follows the prefix (default /usr).
pkg_get_variable(holdfast_unit_dir systemd systemdsystemunitdir)
if(NOT holdfast_unit_dir)
  set(holdfast_unit_dir /lib/systemd/system)
endif()
set(HOLDFAST_INSTALL_SYSCONFDIR /etc CACHE PATH "where holdfast/Corefile goes (absolute)")
set(HOLDFAST_INSTALL_UNITDIR ${holdfast_unit_dir} CACHE PATH "where holdfast.service goes")
set(HOLDFAST_DOC_DIR ${CMAKE_INSTALL_DATADIR}/doc/holdfast)

# Debian wants man pages and changelogs compressed with gzip -9n (no timestamp: reproducible).
set(holdfast_man_pages holdfast.8 holdfastctl.8 dnsfault.1 holdfast-corefile.5)
set(holdfast_gzipped)
foreach(page IN LISTS holdfast_man_pages)
  set(out ${CMAKE_BINARY_DIR}/package/man/${page}.gz)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/package/man
    COMMAND gzip -9n -c ${HOLDFAST_PACKAGE_DIR}/man/${page} > ${out}
    DEPENDS ${HOLDFAST_PACKAGE_DIR}/man/${page} VERBATIM)
  list(APPEND holdfast_gzipped ${out})
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${page})
  install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section} COMPONENT holdfast)
endforeach()
set(holdfast_changelog ${CMAKE_BINARY_DIR}/package/changelog.Debian.gz)
add_custom_command(OUTPUT ${holdfast_changelog}
  COMMAND gzip -9n -c ${HOLDFAST_PACKAGE_DIR}/debian/changelog > ${holdfast_changelog}
  DEPENDS ${HOLDFAST_PACKAGE_DIR}/debian/changelog VERBATIM)
add_custom_target(holdfast_package_files ALL DEPENDS ${holdfast_gzipped} ${holdfast_changelog})

install(FILES ${HOLDFAST_PACKAGE_DIR}/Corefile
        DESTINATION ${HOLDFAST_INSTALL_SYSCONFDIR}/holdfast COMPONENT holdfast)
install(FILES ${HOLDFAST_PACKAGE_DIR}/holdfast.service
        DESTINATION ${HOLDFAST_INSTALL_UNITDIR} COMPONENT holdfast)
install(FILES ${HOLDFAST_PACKAGE_DIR}/completions/holdfast
              ${HOLDFAST_PACKAGE_DIR}/completions/holdfastctl
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions COMPONENT holdfast)
install(FILES ${HOLDFAST_PACKAGE_DIR}/debian/copyright ${holdfast_changelog}
        DESTINATION ${HOLDFAST_DOC_DIR} COMPONENT holdfast)
install(FILES ${HOLDFAST_PACKAGE_DIR}/lintian-overrides
        DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME holdfast COMPONENT holdfast)

# `cpack` and `make install` install what is built instead of building `all` first: the package
# needs only holdfast, holdfastctl, dnsfault and holdfast_package_files (tools/dev package builds
# them), and the package test packs the binaries the other tests ran.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)

# cpack -G DEB: one package, `holdfast`, with its dependencies computed by dpkg-shlibdeps.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME holdfast)
set(CPACK_PACKAGE_VENDOR "The Holdfast authors")
set(CPACK_PACKAGE_CONTACT "Holdfast maintainers <holdfast@example.org>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "node-local resilient DNS cache")
# The long description; CPack puts CPACK_PACKAGE_DESCRIPTION_SUMMARY in front as the synopsis.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"Holdfast answers a host's DNS queries from memory, forwards misses to its
upstream servers, keeps every answer in an LMDB store and serves expired
answers when every upstream fails (RFC 8767), so the names a host has seen
keep resolving through an upstream outage and across restarts.
.
It reads the CoreDNS Corefile dialect, exposes CoreDNS's Prometheus metrics,
reloads its configuration without dropping a query, and runs as a sandboxed
systemd service (Type=notify with a watchdog). holdfastctl inspects and
steers the running daemon; dnsfault is a DNS fault-injection proxy for
outage drills.")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# postinst runs adduser and deb-systemd-helper.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "bash-completion")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "dnsutils")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${HOLDFAST_PACKAGE_DIR}/debian/conffiles
  ${HOLDFAST_PACKAGE_DIR}/debian/postinst
  ${HOLDFAST_PACKAGE_DIR}/debian/prerm
  ${HOLDFAST_PACKAGE_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_SOURCE_IGNORE_FILES "/build.*/" "/\\\\.git/")
include(CPack)
