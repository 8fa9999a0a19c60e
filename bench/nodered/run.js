#!/usr/bin/env node
// Node-RED engine of flowbench.
//
// Embeds the Node-RED runtime in this process (no editor, no admin API),
// deploys one flow per workload built from stock Node-RED nodes, triggers each
// op by handing a message to the flow's first node, and waits for the flow's
// last node (a function node) to call back through functionGlobalContext. It
// prints one JSON line per workload on stdout:
//
//   {"workload":"loop","ns_per_op":123,"ops":20,"note":"...","result":...}
//
//   node run.js --items items.json --url http://127.0.0.1:1234 \
//       [--calls 1000] [--rounds 100] [--pages 10] [--only loop,transform] [--ops-scale 1]
//
// The result of every op is checked against a value computed here in plain
// JavaScript; a mismatch exits non-zero.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

function parseArgs(argv) {
    const a = { calls: 1000, rounds: 100, pages: 10, opsScale: 1, only: null };
    for (let i = 0; i < argv.length; i++) {
        const k = argv[i];
        const v = argv[i + 1];
        switch (k) {
        case '--items': a.items = v; i++; break;
        case '--url': a.url = v; i++; break;
        case '--calls': a.calls = Number(v); i++; break;
        case '--rounds': a.rounds = Number(v); i++; break;
        case '--pages': a.pages = Number(v); i++; break;
        case '--ops-scale': a.opsScale = Number(v); i++; break;
        case '--only': a.only = v.split(','); i++; break;
        default: throw new Error('unknown argument ' + k);
        }
    }
    if (!a.items) throw new Error('--items FILE is required');
    return a;
}

const args = parseArgs(process.argv.slice(2));
const items = JSON.parse(fs.readFileSync(args.items, 'utf8'));

// --- the flows -------------------------------------------------------------
//
// Every workload is a tab. Its entry node has id "<tab>-in"; its last node is a
// function node "<tab>-done" that calls global.get('bench').done(msg). A catch node
// per tab reports errors through bench.fail so that a broken flow fails the run
// instead of hanging it.

function tab(id, label) {
    return [
        { id, type: 'tab', label, disabled: false, info: '' },
        { id: id + '-catch', type: 'catch', z: id, name: '', scope: null, uncaught: false, wires: [[id + '-fail']] },
        { id: id + '-fail', type: 'function', z: id, name: 'fail', func: "global.get('bench').fail(msg);\nreturn null;", outputs: 0, noerr: 0, initialize: '', finalize: '', libs: [], wires: [] },
        { id: id + '-done', type: 'function', z: id, name: 'done', func: "global.get('bench').done(msg);\nreturn null;", outputs: 0, noerr: 0, initialize: '', finalize: '', libs: [], wires: [] },
    ];
}

// loop: sum amount of the active items.
// split (one message per item) -> switch (payload.active is true, recreating
// the message sequence so the join knows how many parts survive) -> join in
// reduce mode ($A + payload.amount, initial 0) -> done.
const loopFlow = [
    ...tab('loop', 'loop'),
    { id: 'loop-in', type: 'split', z: 'loop', name: 'each item', splt: '\\n', spltType: 'str', arraySplt: 1, arraySpltType: 'len', stream: false, addname: '', property: 'payload', wires: [['loop-active']] },
    { id: 'loop-active', type: 'switch', z: 'loop', name: 'active?', property: 'payload.active', propertyType: 'msg', rules: [{ t: 'true' }], checkall: 'true', repair: true, outputs: 1, wires: [['loop-sum']] },
    { id: 'loop-sum', type: 'join', z: 'loop', name: 'sum amount', mode: 'reduce', build: 'object', property: 'payload', propertyType: 'msg', key: 'topic', joiner: '\\n', joinerType: 'str', useparts: false, accumulate: 'false', timeout: '', count: '', reduceRight: false, reduceExp: '$A + payload.amount', reduceInit: '0', reduceInitType: 'num', reduceFixup: '', wires: [['loop-done']] },
];

// transform: one change node with two JSONata rules, the idiomatic Node-RED
// way to reshape a message: rows = active items as {id, cents}, ids = their ids.
const transformFlow = [
    ...tab('transform', 'transform'),
    {
        id: 'transform-in', type: 'change', z: 'transform', name: 'rows and ids',
        rules: [
            { t: 'set', p: 'rows', pt: 'msg', to: '[payload[active].{"id": id, "cents": $floor(amount * 100)}]', tot: 'jsonata' },
            { t: 'set', p: 'ids', pt: 'msg', to: '[payload[active].id]', tot: 'jsonata' },
        ],
        action: '', property: '', from: '', to: '', reg: false, wires: [['transform-done']],
    },
];

// helper calls: n calls of a helper flow that squares its input.
// function (payload = [0..n-1]) -> split -> link call (helper) -> join in
// reduce mode ($A + payload) -> done. The helper is link in -> function
// (msg.payload = x * x) -> link out in return mode.
const callsFlow = [
    ...tab('calls', 'helper calls'),
    { id: 'calls-in', type: 'function', z: 'calls', name: 'range', func: 'const n = msg.payload;\nconst xs = new Array(n);\nfor (let i = 0; i < n; i++) xs[i] = i;\nmsg.payload = xs;\nreturn msg;', outputs: 1, noerr: 0, initialize: '', finalize: '', libs: [], wires: [['calls-split']] },
    { id: 'calls-split', type: 'split', z: 'calls', name: 'each x', splt: '\\n', spltType: 'str', arraySplt: 1, arraySpltType: 'len', stream: false, addname: '', property: 'payload', wires: [['calls-call']] },
    { id: 'calls-call', type: 'link call', z: 'calls', name: 'square', links: ['calls-square-in'], linkType: 'static', timeout: '30', wires: [['calls-sum']] },
    { id: 'calls-sum', type: 'join', z: 'calls', name: 'sum', mode: 'reduce', build: 'object', property: 'payload', propertyType: 'msg', key: 'topic', joiner: '\\n', joinerType: 'str', useparts: false, accumulate: 'false', timeout: '', count: '', reduceRight: false, reduceExp: '$A + payload', reduceInit: '0', reduceInitType: 'num', reduceFixup: '', wires: [['calls-done']] },
    { id: 'calls-square-in', type: 'link in', z: 'calls', name: 'square', links: [], wires: [['calls-square']] },
    { id: 'calls-square', type: 'function', z: 'calls', name: 'x * x', func: 'msg.payload = msg.payload * msg.payload;\nreturn msg;', outputs: 1, noerr: 0, initialize: '', finalize: '', libs: [], wires: [['calls-square-out']] },
    { id: 'calls-square-out', type: 'link out', z: 'calls', name: 'return', mode: 'return', links: [], wires: [] },
];

// http: rounds paginated fetches, one after another, each following "next"
// for at most maxPages pages, counting the items of every page.
//   change "first page"  (page = 1, fetched = 0)
//   -> change "page url" (url = base + "/items?page=" + page, drop the headers of the previous response)
//   -> http request      (GET msg.url, parsed JSON)
//   -> change "count"    (count += $count(payload.data), fetched += 1, page = payload.next)
//   -> switch "more?"    (page is not null and fetched < maxPages -> back to "page url"; otherwise -> next round)
//   -> change "next round" (round += 1)
//   -> switch "rounds left?" (round <= rounds -> back to "first page"; otherwise -> done)
const httpFlow = [
    ...tab('http', 'http'),
    { id: 'http-in', type: 'change', z: 'http', name: 'start', rules: [{ t: 'set', p: 'round', pt: 'msg', to: '1', tot: 'num' }, { t: 'set', p: 'count', pt: 'msg', to: '0', tot: 'num' }], action: '', property: '', from: '', to: '', reg: false, wires: [['http-first']] },
    { id: 'http-first', type: 'change', z: 'http', name: 'first page', rules: [{ t: 'set', p: 'page', pt: 'msg', to: '1', tot: 'num' }, { t: 'set', p: 'fetched', pt: 'msg', to: '0', tot: 'num' }], action: '', property: '', from: '', to: '', reg: false, wires: [['http-url']] },
    { id: 'http-url', type: 'change', z: 'http', name: 'page url', rules: [{ t: 'set', p: 'url', pt: 'msg', to: 'base & "/items?page=" & $string(page)', tot: 'jsonata' }, { t: 'delete', p: 'headers', pt: 'msg' }], action: '', property: '', from: '', to: '', reg: false, wires: [['http-get']] },
    { id: 'http-get', type: 'http request', z: 'http', name: 'GET page', method: 'GET', ret: 'obj', paytoqs: 'ignore', url: '', tls: '', persist: true, proxy: '', insecureHTTPParser: false, authType: '', senderr: true, headers: [], wires: [['http-count']] },
    { id: 'http-count', type: 'change', z: 'http', name: 'count', rules: [{ t: 'set', p: 'count', pt: 'msg', to: 'count + $count(payload.data)', tot: 'jsonata' }, { t: 'set', p: 'fetched', pt: 'msg', to: 'fetched + 1', tot: 'jsonata' }, { t: 'set', p: 'page', pt: 'msg', to: 'payload.next', tot: 'msg' }], action: '', property: '', from: '', to: '', reg: false, wires: [['http-more']] },
    { id: 'http-more', type: 'switch', z: 'http', name: 'more pages?', property: '$exists(page) and page != null and fetched < maxPages', propertyType: 'jsonata', rules: [{ t: 'true' }, { t: 'else' }], checkall: 'false', repair: false, outputs: 2, wires: [['http-url'], ['http-round']] },
    { id: 'http-round', type: 'change', z: 'http', name: 'next round', rules: [{ t: 'set', p: 'round', pt: 'msg', to: 'round + 1', tot: 'jsonata' }], action: '', property: '', from: '', to: '', reg: false, wires: [['http-rounds']] },
    { id: 'http-rounds', type: 'switch', z: 'http', name: 'rounds left?', property: 'round', propertyType: 'msg', rules: [{ t: 'lte', v: 'rounds', vt: 'msg' }, { t: 'else' }], checkall: 'false', repair: false, outputs: 2, wires: [['http-first'], ['http-done']] },
];

// --- the runtime ---------------------------------------------------------------

const workloads = [
    {
        name: 'loop', id: 'loop', flow: loopFlow, ops: 20,
        msg: () => ({ payload: items }),
        result: (msg) => msg.payload,
        want: items.reduce((t, it) => (it.active ? t + it.amount : t), 0),
        note: 'split -> switch -> join (reduce)',
    },
    {
        name: 'transform', id: 'transform', flow: transformFlow, ops: 50,
        msg: () => ({ payload: items }),
        result: (msg) => {
            if (!Array.isArray(msg.rows) || !Array.isArray(msg.ids) || msg.rows.length !== msg.ids.length) {
                throw new Error('transform: rows and ids differ: ' + JSON.stringify([msg.rows && msg.rows.length, msg.ids && msg.ids.length]));
            }
            const cents = msg.rows.reduce((t, r) => t + r.cents, 0);
            if (cents !== wantCents) throw new Error('transform: cents sum ' + cents + ', want ' + wantCents);
            return msg.rows.length;
        },
        want: items.filter((it) => it.active).length,
        note: 'one change node, two JSONata rules',
    },
    {
        name: 'helper calls', id: 'calls', flow: callsFlow, ops: 30,
        msg: () => ({ payload: args.calls }),
        result: (msg) => msg.payload,
        want: (() => { let t = 0; for (let i = 0; i < args.calls; i++) t += i * i; return t; })(),
        note: 'split -> link call -> join (reduce)',
    },
    {
        name: 'http', id: 'http', flow: httpFlow, ops: 5, needsURL: true,
        msg: () => ({ payload: '', base: args.url, rounds: args.rounds, maxPages: args.pages }),
        result: (msg) => msg.count,
        want: null, // from the first op, checked against the Go engines by the caller
        note: 'http request node in a switch loop, sequential',
    },
];
const wantCents = items.filter((it) => it.active).reduce((t, it) => t + Math.trunc(it.amount * 100), 0);

const selected = workloads.filter((w) => (!args.only || args.only.includes(w.name)) && (!w.needsURL || args.url));

let pending = null; // {resolve, reject} of the op in flight
const bench = {
    done(msg) {
        const p = pending;
        pending = null;
        if (p) p.resolve(msg);
    },
    fail(msg) {
        const p = pending;
        pending = null;
        const e = new Error('flow error: ' + JSON.stringify(msg.error || msg));
        if (p) p.reject(e); else { console.error(e.message); process.exit(1); }
    },
};

async function main() {
    const RED = require('node-red');
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbench-nodered-'));
    process.on('exit', () => fs.rmSync(userDir, { recursive: true, force: true }));
    const flows = selected.flatMap((w) => w.flow);
    fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows));
    RED.init({
        userDir,
        flowFile: 'flows.json',
        credentialSecret: false,
        httpAdminRoot: false,
        httpNodeRoot: false,
        disableEditor: true,
        functionGlobalContext: { bench },
        logging: { console: { level: 'error', metrics: false, audit: false } },
        editorTheme: { projects: { enabled: false } },
        diagnostics: { enabled: false },
        telemetry: { enabled: false },
        externalModules: { autoInstall: false, palette: { allowInstall: false }, modules: { allowInstall: false } },
    });
    const started = new Promise((resolve) => RED.events.once('flows:started', resolve));
    await RED.start();
    await started;

    const op = (w) => new Promise((resolve, reject) => {
        const timer = setTimeout(() => { pending = null; reject(new Error(w.name + ': op timed out')); }, 60000);
        pending = {
            resolve: (msg) => { clearTimeout(timer); resolve(msg); },
            reject: (e) => { clearTimeout(timer); reject(e); },
        };
        RED.nodes.getNode(w.id + '-in').receive(w.msg());
    });

    for (const w of selected) {
        if (!RED.nodes.getNode(w.id + '-in')) throw new Error(w.name + ': flow did not start');
        const check = (msg) => {
            const got = w.result(msg);
            if (w.want === null) w.want = got;
            if (got !== w.want) throw new Error(`${w.name}: got ${JSON.stringify(got)}, want ${JSON.stringify(w.want)}`);
            return got;
        };
        const ops = Math.max(1, Math.round(w.ops * args.opsScale));
        const warm = Math.max(2, Math.ceil(ops / 5));
        let got;
        for (let i = 0; i < warm; i++) got = check(await op(w));
        const start = process.hrtime.bigint();
        const results = [];
        for (let i = 0; i < ops; i++) results.push(await op(w));
        const ns = Number(process.hrtime.bigint() - start) / ops;
        for (const msg of results) check(msg);
        process.stdout.write(JSON.stringify({ workload: w.name, ns_per_op: Math.round(ns), ops, note: w.note, result: got }) + '\n');
    }
    await RED.stop();
}

main().then(() => process.exit(0), (e) => {
    console.error('node-red bench:', e && e.stack || e);
    process.exit(1);
});
