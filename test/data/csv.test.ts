// The RFC 4180 parser: quoting, escaped quotes, embedded CR/LF/CRLF, record ends, BOM, blank lines,
// TSV, line numbers in errors; and a seeded round trip of random tables through a quote-all writer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCsv, parseCsvObjects } from "../../src/eval/loaders/csv.ts";
import { Rng } from "../../src/engine/rng.ts";
import { RecapError } from "../../src/util/errors.ts";

const fields = (text: string, delimiter?: string) =>
  parseCsv(text, { file: "t.csv", ...(delimiter ? { delimiter } : {}) }).map((r) => r.fields);

test("plain and quoted fields, escaped quotes, empty fields", () => {
  assert.deepEqual(fields('a,b,c\n1,"x, y","say ""hi"""\n'), [
    ["a", "b", "c"],
    ["1", "x, y", 'say "hi"'],
  ]);
  assert.deepEqual(fields('a,,""\n'), [["a", "", ""]]);
  assert.deepEqual(fields(",\n"), [["", ""]]);
  assert.deepEqual(fields('""\n'), [[""]]);
  assert.deepEqual(fields('""""'), [['"']]);
});

test("line breaks inside quotes are data and kept verbatim; CRLF, LF and CR end records", () => {
  assert.deepEqual(fields('h1,h2\r\n"l1\r\nl2",x\r\n"a\nb",y\n'), [
    ["h1", "h2"],
    ["l1\r\nl2", "x"],
    ["a\nb", "y"],
  ]);
  assert.deepEqual(fields("a,b\rc,d\r"), [
    ["a", "b"],
    ["c", "d"],
  ]);
  assert.deepEqual(fields("a,b"), [["a", "b"]]); // no final newline
});

test("records carry the line they start on", () => {
  const recs = parseCsv('h\n"one\ntwo\r\nthree"\nnext\r\n\r\nlast\n');
  assert.deepEqual(
    recs.map((r) => r.line),
    [1, 2, 5, 7],
  );
  assert.deepEqual(
    recs.map((r) => r.fields[0]),
    ["h", "one\ntwo\r\nthree", "next", "last"],
  );
});

test("a byte-order mark is dropped and blank lines are skipped", () => {
  assert.deepEqual(fields("\ufeffa,b\n\n1,2\n\n"), [
    ["a", "b"],
    ["1", "2"],
  ]);
});

test("a quote inside an unquoted field is data; tab-separated files work the same way", () => {
  assert.deepEqual(fields('ab"c,d\n'), [['ab"c', "d"]]);
  assert.deepEqual(fields('a\t"b\tc"\t\n', "\t"), [["a", "b\tc", ""]]);
});

function expectError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof RecapError && pattern.test(e.message));
}

test("malformed CSV names the file and line", () => {
  expectError(() => parseCsv('a\n"open\nstill', { file: "f.csv" }), /^f\.csv:2: unterminated quoted field/);
  expectError(() => parseCsv('a,b\n"x"y,z\n', { file: "f.csv" }), /^f\.csv:2: unexpected "y" after a closing quote/);
  expectError(() => parseCsvObjects("a,b\n1,2\n3\n", { file: "f.csv" }), /^f\.csv:3: 1 fields but the header has 2/);
  expectError(() => parseCsvObjects("a,a\n1,2\n", { file: "f.csv" }), /duplicate column "a"/);
  expectError(() => parseCsvObjects("", { file: "f.csv" }), /f\.csv: empty file/);
  expectError(() => parseCsv("a", { delimiter: '"' }), /invalid CSV delimiter/);
});

test("parseCsvObjects keys rows by the header", () => {
  const { header, rows } = parseCsvObjects('id,prompt\n1,"multi\nline"\n2,plain\n');
  assert.deepEqual(header, ["id", "prompt"]);
  assert.deepEqual(rows, [
    { line: 2, row: { id: "1", prompt: "multi\nline" } },
    { line: 4, row: { id: "2", prompt: "plain" } },
  ]);
});

test("seeded round trip: random tables written with quoting parse back exactly", () => {
  const rng = new Rng(7);
  const alphabet = ["a", "b", " ", ",", '"', "\n", "\r\n", "\r", "\t", "é", "😀"];
  const rand = () => Array.from({ length: rng.int(6) }, () => alphabet[rng.int(alphabet.length)]).join("");
  for (let t = 0; t < 200; t++) {
    const cols = 1 + rng.int(4);
    const rows = Array.from({ length: 1 + rng.int(5) }, () => Array.from({ length: cols }, rand));
    const quoteAll = rng.int(2) === 0;
    const enc = (f: string) => (quoteAll || /[",\r\n]/.test(f) || f === "" ? `"${f.replace(/"/g, '""')}"` : f);
    const eol = ["\n", "\r\n"][rng.int(2)] as string;
    const text = rows.map((r) => r.map(enc).join(",")).join(eol) + (rng.int(2) ? eol : "");
    assert.deepEqual(fields(text), rows, JSON.stringify(text));
  }
});
