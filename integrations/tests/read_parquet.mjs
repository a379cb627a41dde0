// Prints the rows of a parquet file as JSON (int64 as numbers), for the Python tests: verl reads
// verl.parquet with pyarrow, which the test machine need not have; hyparquet is a dev dependency.
// Usage: node integrations/tests/read_parquet.mjs FILE
import { readFileSync } from "node:fs";
import { parquetReadObjects } from "hyparquet";

const buf = readFileSync(process.argv[2]);
const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
const rows = await parquetReadObjects({ file });
process.stdout.write(JSON.stringify(rows, (_, v) => (typeof v === "bigint" ? Number(v) : v)));
