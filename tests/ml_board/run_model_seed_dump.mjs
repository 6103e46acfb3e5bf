// Seeds the dashboard's read model from a board's table (GET /api/grid_searches/<gs>/table, as JSON in a file),
// applies the log's events after the table's last_seq, and prints what it concluded in run_model_dump.mjs's shape,
// for test_table.py.  Usage: node run_model_seed_dump.mjs <table.json> <event_storage.log>
import { readFileSync } from "node:fs";
import { seededModel } from "../../src/ml_board/static/table_seed.js";
import { dump, readLog } from "./run_model_dump.mjs";

const table = JSON.parse(readFileSync(process.argv[2], "utf8"));
const model = seededModel("parity", table);
const ok = model.apply(readLog(process.argv[3]).filter((ev) => ev.seq > table.last_seq));
process.stdout.write(JSON.stringify(dump(model, ok)));
