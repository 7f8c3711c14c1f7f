"""Unit tests of the parts of stdlib_adapter.py that need no server: the SSE parser, the
Retry-After parser, the canonical mapping, arguments and URL escaping. The adapter as a
whole is tested against hogmock by tests/integration/test_adapter_python.c."""

from __future__ import annotations

import email.utils
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import stdlib_adapter as sa  # noqa: E402


def feed_all(chunks: list) -> list:
    parser = sa.SSEParser()
    events = []
    for chunk in chunks:
        events.extend(event[:2] for event in parser.feed(chunk))
    return events


class SSEParserTest(unittest.TestCase):
    STREAM = (b'event: stdout\nid: 1\ndata: {"data":"a\\n"}\n\n: keepalive\n\n'
              b'event: exit\nid: 2\ndata: {"exit_code":0,"timed_out":false}\n\n')

    def test_events_are_parsed_whatever_the_chunk_boundaries(self) -> None:
        want = [("stdout", '{"data":"a\\n"}'), ("exit", '{"exit_code":0,"timed_out":false}')]
        self.assertEqual(feed_all([self.STREAM]), want)
        self.assertEqual(feed_all([bytes([b]) for b in self.STREAM]), want)

    def test_an_event_is_returned_as_soon_as_its_blank_line_came(self) -> None:
        parser = sa.SSEParser()
        self.assertEqual(parser.feed(b"event: stdout\ndata: x\n"), [])
        self.assertEqual(parser.feed(b"\nevent: exit\n"), [("stdout", "x", "")])

    def test_the_last_event_id_comes_with_each_event(self) -> None:
        parser = sa.SSEParser()
        self.assertEqual(parser.feed(self.STREAM),
                         [("stdout", '{"data":"a\\n"}', "1"),
                          ("exit", '{"exit_code":0,"timed_out":false}', "2")])

    def test_cr_lf_and_crlf_all_end_lines_even_split_across_chunks(self) -> None:
        self.assertEqual(feed_all([b"data: a\r", b"\ndata: b\r\r", b"data: c\n\n"]),
                         [("message", "a\nb"), ("message", "c")])

    def test_comments_unknown_fields_and_empty_events_are_skipped(self) -> None:
        self.assertEqual(feed_all([b": hi\nretry: 5\nfoo: bar\nid: 7\n\nevent: x\n\n"]), [])

    def test_data_lines_join_and_one_leading_space_is_dropped(self) -> None:
        self.assertEqual(feed_all([b"data:a\ndata:  b\ndata\n\n"]), [("message", "a\n b\n")])

    def test_a_leading_bom_is_ignored_and_bad_utf8_is_replaced(self) -> None:
        self.assertEqual(feed_all([b"\xef\xbb\xbfdata: \xff\n\n"]), [("message", "\ufffd")])

    def test_an_unfinished_event_at_the_end_is_not_an_event(self) -> None:
        self.assertEqual(feed_all([b"event: exit\ndata: {}\n"]), [])


class HelpersTest(unittest.TestCase):
    def test_retry_after_takes_seconds_and_http_dates(self) -> None:
        self.assertEqual(sa.parse_retry_after("120"), 120)
        self.assertEqual(sa.parse_retry_after(" 2 "), 2)
        later = email.utils.formatdate(time.time() + 30, usegmt=True)
        self.assertIn(sa.parse_retry_after(later), (29, 30, 31))
        self.assertEqual(sa.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), 0)
        for bad in (None, "", "soon", "-5", "12abc", "\u00b2"):
            self.assertIsNone(sa.parse_retry_after(bad), bad)

    def test_canonical_mapping(self) -> None:
        table = {400: "ValidationError", 401: "AuthenticationError", 403: "PermissionDeniedError",
                 404: "NotFoundError", 405: "APIError", 409: "ConflictError",
                 413: "ValidationError", 422: "ValidationError", 429: "RateLimitError",
                 500: "ServerError", 504: "ServerError", 302: "APIError"}
        for status, kind in table.items():
            self.assertEqual(sa.canonical_type(status), kind, status)

    def test_base64_arguments_must_be_padded_standard_base64(self) -> None:
        self.assertEqual(sa.Args({"d": "AAH/"}).base64_bytes("d"), b"\x00\x01\xff")
        for bad in ("AAH", "AA-_", "AA H/", 5):
            with self.assertRaises(sa.AdapterFault):
                sa.Args({"d": bad}).base64_bytes("d")

    def test_integers_are_json_integers_not_booleans(self) -> None:
        self.assertEqual(sa.Args({"n": 2.0}).integer("n"), 2)
        for bad in (True, 2.5, "2"):
            with self.assertRaises(sa.AdapterFault):
                sa.Args({"n": bad}).integer("n")

    def test_zero_and_negative_integers_are_values_not_absence(self) -> None:
        args = sa.Args({"cpus": 0, "limit": -1, "gone": None})
        self.assertEqual(args.integer("cpus"), 0)
        self.assertEqual(args.integer("limit"), -1)
        self.assertIsNone(args.integer("gone"))
        self.assertEqual(sa.query([("limit", args.integer("cpus"))]), "?limit=0")
        self.assertEqual(sa.exec_body(sa.Args({"argv": ["true"], "timeout_seconds": 0})),
                         {"argv": ["true"], "timeout_seconds": 0})

    def test_output_bytes_keep_nul_and_replace_lone_surrogates(self) -> None:
        self.assertEqual(sa.output_bytes("a\0b\u00e9"), b"a\0b\xc3\xa9")
        self.assertEqual(sa.output_bytes("\U0001f437\ud800"), b"\xf0\x9f\x90\xb7\xef\xbf\xbd")
        with self.assertRaises(sa.ClientError):
            sa.output_bytes(None)

    def test_ids_and_query_values_are_escaped(self) -> None:
        self.assertEqual(sa.seg("hb_1/../x"), "hb_1%2F..%2Fx")
        self.assertEqual(sa.query([("path", "/a b&c"), ("mode", None), ("label", "k=v")]),
                         "?path=%2Fa%20b%26c&label=k%3Dv")

    def test_proxy_paths_keep_slashes_and_valid_escapes(self) -> None:
        client = sa.Client({**sa.DEFAULTS, "host": "http://h:1/pre/", "token": "t",
                            "token_file": None})
        url = sa.op_proxy_url(client, sa.Args({"box": "hb_1", "port": 80,
                                               "path": "/a b/%41/%zz?"}), None)["url"]
        self.assertEqual(url, "http://h:1/pre/v1/hogboxes/hb_1/proxy/80/a%20b/%41/%25zz%3F")
        with self.assertRaises(sa.ClientError):
            sa.op_proxy_url(client, sa.Args({"box": "hb_1", "port": 0}), None)

    def test_credentials_refuse_whitespace_inside_and_trim_around(self) -> None:
        conf = {"token": " tok_a\n", "token_file": None}
        self.assertEqual(sa.read_credential(conf), "tok_a")
        for bad in ("", "tok a", "tok\x01"):
            with self.assertRaises(sa.ClientError):
                sa.read_credential({"token": bad, "token_file": None})


if __name__ == "__main__":
    unittest.main()
