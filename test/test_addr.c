/* Address helpers: strict parsing of IPv4/IPv6 text and the reverse. */
#include <arpa/inet.h>
#include <net/if.h>
#include <string.h>

#include "helpers/harness.h"

/* One row of the parsing table: input, port, expected result. */
typedef struct {
  const char *ip;
  int port;
  int want;
} addr_case_t;

static const addr_case_t ip4_cases[] = {
    {"127.0.0.1", 0, 0},
    {"0.0.0.0", 65535, 0},
    {"255.255.255.255", 80, 0},
    {"1.2.3.4", 1, 0},
    {"", 80, ART_EINVAL},
    {" 1.2.3.4", 80, ART_EINVAL},
    {"1.2.3.4 ", 80, ART_EINVAL},
    {"1.2.3.4x", 80, ART_EINVAL},
    {"1.2.3.4:80", 80, ART_EINVAL},
    {"1.2.3", 80, ART_EINVAL},
    {"1.2.3.4.5", 80, ART_EINVAL},
    {"256.1.1.1", 80, ART_EINVAL},
    {"01.2.3.4", 80, ART_EINVAL},
    {"0x7f.0.0.1", 80, ART_EINVAL},
    {"localhost", 80, ART_EINVAL},
    {"::1", 80, ART_EINVAL},
    {"127.0.0.1", -1, ART_EINVAL},
    {"127.0.0.1", 65536, ART_EINVAL},
    {"127.0.0.1", 1 << 20, ART_EINVAL},
};

ART_TEST(ip4_table) {
  for (size_t i = 0; i < ART_ARRAY_SIZE(ip4_cases); i++) {
    struct sockaddr_in a;
    memset(&a, 0xAB, sizeof(a));
    int r = art_ip4_addr(ip4_cases[i].ip, ip4_cases[i].port, &a);
    if (r != ip4_cases[i].want)
      fail_msg("art_ip4_addr(\"%s\", %d) = %d, want %d", ip4_cases[i].ip,
               ip4_cases[i].port, r, ip4_cases[i].want);
    if (r == 0) {
      assert_int_equal(a.sin_family, AF_INET);
      assert_int_equal(ntohs(a.sin_port), ip4_cases[i].port);
      char back[INET_ADDRSTRLEN];
      assert_int_equal(art_ip4_name(&a, back, sizeof(back)), 0);
      assert_string_equal(back, ip4_cases[i].ip);
    } else {
      assert_int_equal(((unsigned char *)&a)[0], 0xAB); /* untouched */
    }
  }
}

static const addr_case_t ip6_cases[] = {
    {"::1", 0, 0},
    {"::", 65535, 0},
    {"fe80::1", 80, 0},
    {"2001:db8::ff00:42:8329", 80, 0},
    {"::ffff:127.0.0.1", 80, 0},
    {"fe80::1%1", 80, 0},
    {"fe80::1%lo", 80, 0},
    {"", 80, ART_EINVAL},
    {"%1", 80, ART_EINVAL},
    {"::1 ", 80, ART_EINVAL},
    {"[::1]", 80, ART_EINVAL},
    {"::1x", 80, ART_EINVAL},
    {"1:2:3:4:5:6:7:8:9", 80, ART_EINVAL},
    {"::1::2", 80, ART_EINVAL},
    {"12345::1", 80, ART_EINVAL},
    {"127.0.0.1", 80, ART_EINVAL},
    {"fe80::1%", 80, ART_EINVAL},
    {"fe80::1%1x", 80, ART_ENODEV},
    {"fe80::1%-1", 80, ART_ENODEV},
    {"fe80::1%4294967296", 80, ART_EINVAL},
    {"fe80::1%no-such-if0", 80, ART_ENODEV},
    {"fe80::1%abcdefghijklmnopqrstuvwxyz", 80, ART_EINVAL},
    {"0000:0000:0000:0000:0000:0000:0000:0000:0000", 80, ART_EINVAL},
    {"::1", -1, ART_EINVAL},
    {"::1", 65536, ART_EINVAL},
};

ART_TEST(ip6_table) {
  for (size_t i = 0; i < ART_ARRAY_SIZE(ip6_cases); i++) {
    struct sockaddr_in6 a;
    memset(&a, 0xAB, sizeof(a));
    int r = art_ip6_addr(ip6_cases[i].ip, ip6_cases[i].port, &a);
    if (r != ip6_cases[i].want)
      fail_msg("art_ip6_addr(\"%s\", %d) = %d, want %d", ip6_cases[i].ip,
               ip6_cases[i].port, r, ip6_cases[i].want);
    if (r == 0) {
      assert_int_equal(a.sin6_family, AF_INET6);
      assert_int_equal(ntohs(a.sin6_port), ip6_cases[i].port);
    } else {
      assert_int_equal(((unsigned char *)&a)[0], 0xAB);
    }
  }
}

ART_TEST(ip6_scope) {
  struct sockaddr_in6 a;
  char name[ART_IP_NAME_MAX];
  unsigned lo = if_nametoindex("lo");
  assert_int_equal(art_ip6_addr("fe80::1%7", 9, &a), 0);
  assert_int_equal(a.sin6_scope_id, 7);
  assert_int_equal(art_ip6_name(&a, name, sizeof(name)), 0);
  assert_string_equal(name, "fe80::1%7");
  assert_int_equal(art_ip6_addr(name, 9, &a), 0); /* round trip */
  assert_int_equal(a.sin6_scope_id, 7);
  if (lo != 0) {
    assert_int_equal(art_ip6_addr("fe80::1%lo", 9, &a), 0);
    assert_int_equal(a.sin6_scope_id, lo);
  }
  assert_int_equal(art_ip6_addr("fe80::1%4294967295", 9, &a), 0);
  assert_int_equal(a.sin6_scope_id, 4294967295u);
  assert_int_equal(art_ip6_name(&a, name, sizeof(name)), 0);
  assert_string_equal(name, "fe80::1%4294967295");
}

ART_TEST(name_buffer_sizes) {
  struct sockaddr_in a4;
  struct sockaddr_in6 a6;
  char buf[64];
  assert_int_equal(art_ip4_addr("192.168.100.200", 1, &a4), 0);
  /* "192.168.100.200" is 15 characters: 16 bytes fit, 15 do not. */
  assert_int_equal(art_ip4_name(&a4, buf, 16), 0);
  assert_string_equal(buf, "192.168.100.200");
  memset(buf, 'x', sizeof(buf));
  assert_int_equal(art_ip4_name(&a4, buf, 15), ART_ENOSPC);
  assert_int_equal(buf[0], 'x'); /* nothing partial written */
  assert_int_equal(art_ip4_name(&a4, buf, 0), ART_ENOSPC);
  assert_int_equal(art_ip6_addr("::1", 1, &a6), 0);
  assert_int_equal(art_ip6_name(&a6, buf, 4), 0);
  assert_string_equal(buf, "::1");
  assert_int_equal(art_ip6_name(&a6, buf, 3), ART_ENOSPC);
  assert_int_equal(art_ip6_addr("fe80::1%12", 1, &a6), 0);
  assert_int_equal(art_ip6_name(&a6, buf, 11), 0);
  assert_int_equal(art_ip6_name(&a6, buf, 10), ART_ENOSPC);
}

ART_TEST(ip_name_dispatch) {
  struct sockaddr_storage ss;
  char buf[ART_IP_NAME_MAX];
  memset(&ss, 0, sizeof(ss));
  assert_int_equal(art_ip4_addr("10.0.0.1", 5, (struct sockaddr_in *)&ss), 0);
  assert_int_equal(art_ip_name((struct sockaddr *)&ss, buf, sizeof(buf)), 0);
  assert_string_equal(buf, "10.0.0.1");
  assert_int_equal(art_ip6_addr("2001:db8::1", 5, (struct sockaddr_in6 *)&ss),
                   0);
  assert_int_equal(art_ip_name((struct sockaddr *)&ss, buf, sizeof(buf)), 0);
  assert_string_equal(buf, "2001:db8::1");
  ss.ss_family = AF_UNIX;
  assert_int_equal(art_ip_name((struct sockaddr *)&ss, buf, sizeof(buf)),
                   ART_EAFNOSUPPORT);
}

ART_TEST(bad_arguments) {
  struct sockaddr_in a4;
  struct sockaddr_in6 a6;
  char buf[64];
  assert_int_equal(art_ip4_addr(NULL, 1, &a4), ART_EINVAL);
  assert_int_equal(art_ip4_addr("1.2.3.4", 1, NULL), ART_EINVAL);
  assert_int_equal(art_ip6_addr(NULL, 1, &a6), ART_EINVAL);
  assert_int_equal(art_ip6_addr("::1", 1, NULL), ART_EINVAL);
  assert_int_equal(art_ip4_name(NULL, buf, sizeof(buf)), ART_EINVAL);
  assert_int_equal(art_ip4_name(&a4, NULL, sizeof(buf)), ART_EINVAL);
  assert_int_equal(art_ip6_name(NULL, buf, sizeof(buf)), ART_EINVAL);
  assert_int_equal(art_ip6_name(&a6, NULL, sizeof(buf)), ART_EINVAL);
  assert_int_equal(art_ip_name(NULL, buf, sizeof(buf)), ART_EINVAL);
  assert_int_equal(art_ip_name((struct sockaddr *)&a4, NULL, 1), ART_EINVAL);
}
