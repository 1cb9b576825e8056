/* How the upload page moves bytes: hashing as it reads, sending one request with a stall watch,
 * and sending a large file in parts (S3 multipart) that survive cuts, offline spells and reloads.
 *
 * No DOM here. citizen.js passes in `api(path, body)` (its JSON caller) and callbacks for progress.
 * Every failure that is not the server saying no (a 4xx from our API) is retried for as long as the
 * page is open, with a growing pause; nothing restarts a file from zero that S3 already holds part of.
 */
(function () {
  'use strict';

  const cfg = {
    partParallel: 6,        // parts in flight at once (Chromium opens at most 6 connections a host)
    stallMs: 20000,         // no bytes for this long: abort that request and send it again
    backoffMs: [1000, 2000, 4000, 8000, 15000, 30000],
    hashChunk: 4 * 1024 * 1024,
    hashInWorker: true,     // hashing in a Web Worker (citizen-hashing.js), off the page's thread
    partDigest: 'webcrypto', // each part's SHA-256: 'webcrypto' (its own thread) or 'wasm'
    hashLagBytes: 32 * 1024 * 1024,  // how far the whole-file hash may trail the part checksums
    trace: false,           // performance.mark() at each step of a part (bench/upload_page.py)
  };

  function mark(name) { if (cfg.trace) performance.mark(name); }

  function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

  // Resolves at once when online, else on the next 'online' event.
  function whenOnline() {
    if (navigator.onLine !== false) return Promise.resolve();
    return new Promise((resolve) => window.addEventListener('online', () => resolve(), { once: true }));
  }

  // Every request in flight, so going offline can stop them all at once (they are retried).
  const inFlight = new Set();
  window.addEventListener('offline', () => { for (const xhr of inFlight) xhr.abort(); });

  class Refused extends Error {          // the server said no: retrying will not change it
    constructor(err) { super(err.message); this.cause = err; this.code = err.code; }
  }

  function isRefusal(err) {
    return err && err.status >= 400 && err.status < 500 && err.code && err.code !== 'network';
  }

  /* ---------- hashing ---------- */

  // citizen-hashing.js, next to this script: run as a Web Worker, so the page's thread only moves bytes.
  const hashingUrl = new URL('citizen-hashing.js', document.currentScript.src).href;

  // A file's hasher in a worker: {part(start, end, checksum), digest(), close()}, each a promise.
  function workerHasher(file) {
    const worker = new Worker(hashingUrl);
    const pending = new Map();
    let nextId = 0;
    const failAll = (message) => {
      for (const waiter of pending.values()) waiter.fail(new Error(message));
      pending.clear();
    };
    worker.addEventListener('message', (event) => {
      const waiter = pending.get(event.data.id);
      pending.delete(event.data.id);
      if (event.data.error != null) waiter.fail(new Error(event.data.error));
      else waiter.ok(event.data.value);
    });
    worker.addEventListener('error', (event) => { event.preventDefault(); failAll('the hashing worker failed'); });
    let closed = false;
    const call = (op, args) => new Promise((ok, fail) => {
      if (closed) throw new Error('hashing stopped');
      pending.set(nextId, { ok, fail });
      worker.postMessage({ id: nextId, op, args });
      nextId += 1;
    });
    const close = () => { closed = true; worker.terminate(); failAll('hashing stopped'); };
    return call('open', { file, partDigest: cfg.partDigest, lagBytes: cfg.hashLagBytes }).then(() => ({
      part: (start, end, checksum) => call('part', [start, end, checksum]),
      digest: () => call('digest'),
      close,
    }), (err) => { close(); throw err; });
  }

  // The worker's hasher, else the same code on this thread; null when this browser cannot hash
  // incrementally (the server still hashes what it receives, and S3 checks what it can).
  async function openHasher(file) {
    if (cfg.hashInWorker && window.Worker) {
      try {
        return await workerHasher(file);
      } catch (err) { /* hashed on this thread below */ }
    }
    if (!window.hashwasm || !window.hashwasm.createSHA256 || !window.CitizenHashing) return null;
    const opened = await window.CitizenHashing.openFile(file, window.hashwasm, cfg.partDigest, cfg.hashLagBytes);
    return { part: opened.part, digest: async () => opened.digest(), close: () => {} };
  }

  // The whole file's SHA-256, read in chunks: the file is never all in memory. Null when this
  // browser cannot hash incrementally.
  async function hashFile(file, onChunk) {
    const hasher = await openHasher(file);
    if (!hasher) return null;
    try {
      for (let start = 0; start < file.size; start += cfg.hashChunk) {
        const end = Math.min(file.size, start + cfg.hashChunk);
        await hasher.part(start, end, false);
        if (onChunk) onChunk(end);
      }
      return await hasher.digest();
    } finally {
      hasher.close();
    }
  }

  /* ---------- one request with a stall watch ---------- */

  // Sends `body` with XHR (only XHR reports upload progress). Rejects with {status} on failure,
  // and aborts itself when no byte has moved for cfg.stallMs.
  function send(method, url, body, headers, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      let timer = 0;
      const watch = () => {
        clearTimeout(timer);
        timer = setTimeout(() => { xhr.stalled = true; xhr.abort(); }, cfg.stallMs);
      };
      const done = (fn, value) => { clearTimeout(timer); inFlight.delete(xhr); fn(value); };
      xhr.open(method, url);
      for (const [name, value] of Object.entries(headers || {})) xhr.setRequestHeader(name, value);
      xhr.upload.addEventListener('progress', (event) => { watch(); if (onProgress) onProgress(event.loaded); });
      xhr.addEventListener('load', () => {
        if (xhr.status >= 200 && xhr.status < 300) done(resolve, xhr);
        else done(reject, Object.assign(new Error('upload failed'), { status: xhr.status }));
      });
      for (const name of ['error', 'abort', 'timeout']) {
        xhr.addEventListener(name, () => done(reject, Object.assign(new Error('upload ' + name),
                                                              { status: 0, stalled: !!xhr.stalled })));
      }
      inFlight.add(xhr);
      watch();
      xhr.send(body);
    });
  }

  // Runs `attempt` until it succeeds, pausing while offline and backing off between tries.
  // `onRetry(n)` lets the page say it is trying again. A refusal from our API stops it.
  async function persist(attempt, onRetry) {
    for (let tries = 0; ; tries += 1) {
      await whenOnline();
      try {
        return await attempt(tries);
      } catch (err) {
        if (err instanceof Refused) throw err;
        if (isRefusal(err)) throw new Refused(err);
        if (onRetry) onRetry(tries + 1, err);
        await sleep(cfg.backoffMs[Math.min(tries, cfg.backoffMs.length - 1)]);
      }
    }
  }

  /* ---------- a large file in parts ---------- */

  // Sends every part S3 does not hold yet, then asks the server to assemble the file with the
  // browser's hash. `progress(bytes)` gets the bytes of the file S3 holds or is receiving.
  async function sendInParts(opts) {
    const { api, base, file, onProgress, onRetry } = opts;
    // `offer`: the declaration's answer for an upload created just now, so nothing to ask S3.
    const held = opts.offer ? Object.assign({ parts: [] }, opts.offer) : await persist(() => api(base + '/parts'), onRetry);
    if (held.status && held.status !== 'awaiting_upload') return held;  // assembled already
    const partSize = held.part_size;
    const total = held.parts_total;
    const done = new Map(held.parts.map((p) => [p.part_number, p.size]));
    const moving = new Map();
    const report = () => {
      let bytes = 0;
      for (const size of done.values()) bytes += size;
      for (const size of moving.values()) bytes += size;
      onProgress(Math.min(file.size, bytes), total - done.size);
    };
    report();
    // One reader goes through the file in order, once (in the hashing worker): each part's bytes
    // feed the whole-file hash and, for a part S3 lacks, its own checksum. A part is queued for the
    // senders as soon as it is asked for; its URL is signed once its checksum is known. The reader
    // stays at most two rounds of parts ahead, so the worker holds one part's bytes at a time.
    const hasher = await openHasher(file);
    const ready = [];
    const waiting = [];
    let readAll = false;
    const changed = () => { while (waiting.length) waiting.shift()(); };
    const until = async (condition) => { while (!condition()) await new Promise((resolve) => waiting.push(resolve)); };
    // URLs for parts hashed ahead are asked for together: one API call for every part hashed
    // while the previous call was out (the API answers one call at a time locally).
    let previous = Promise.resolve();
    let gathering = null;
    const signAhead = (entry) => {
      if (!gathering) {
        const parts = [];
        const call = previous.then(() => {
          gathering = null;
          const names = parts.map((p) => p.part_number).join(',');
          mark('sign:' + names);
          return api(base + '/parts', { parts }).then((answer) => { mark('signed:' + names); return answer; });
        });
        previous = call.catch(() => null);
        gathering = { parts, call };
      }
      gathering.parts.push(entry);
      return gathering.call.then((answer) => answer.parts.find((p) => p.part_number === entry.part_number) || null,
                                 () => null);  // signed again when sending
    };
    const reader = (async () => {
      try {
        for (let number = 1; number <= total; number += 1) {
          await until(() => ready.length < 2 * cfg.partParallel);
          const start = (number - 1) * partSize;
          const end = Math.min(file.size, start + partSize);
          const wanted = !done.has(number);
          mark('hash:' + number);
          const hashed = hasher ? hasher.part(start, end, wanted) : Promise.resolve(null);
          if (!wanted) {
            await hashed;  // feeds the whole-file hash only
            continue;
          }
          const ask = hashed.then((checksum) => {
            mark('hashed:' + number);
            return { parts: [checksum ? { part_number: number, sha256: checksum } : { part_number: number }] };
          });
          ask.catch(() => null);  // its sender reports a failure; a part never sent has none to report
          // Sent as a Blob: Chromium streams it from the file (an ArrayBuffer body was about 5x slower).
          ready.push({ number, body: file.slice(start, end), ask, 
                   signing: ask.then((a) => signAhead(a.parts[0]), () => null) });
          changed();
        }
      } finally {
        readAll = true;
        changed();
      }
    })();

    const sendPart = async (item) => {
      const { number, body } = item;
      const ask = await item.ask;  // a hashing failure fails the file: never sent unchecked
      await persist(async (tries) => {
        moving.set(number, 0);
        const first = tries === 0 ? await item.signing : null;  // signed again on a retry (or if it failed)
        const part = first || (await api(base + '/parts', ask)).parts[0];
        mark('put:' + number);
        try {
          await send('PUT', part.url, body, part.headers, (loaded) => { moving.set(number, loaded); report(); });
        } finally {
          moving.delete(number);
        }
        mark('sent:' + number);
      }, onRetry);
      done.set(number, body.size);
      report();
    };
    const sender = async () => {
      for (;;) {
        await until(() => ready.length > 0 || readAll);
        if (!ready.length) return;
        const item = ready.shift();
        changed();
        await sendPart(item);
      }
    };
    const senders = [];
    for (let i = 0; i < cfg.partParallel; i += 1) senders.push(sender());
    try {
      await Promise.all(senders.concat([reader]));
      const sha256 = hasher ? await hasher.digest() : null;
      mark('complete');
      const verdict = await persist(() => api(base + '/complete', sha256 ? { sha256: sha256 } : {}), onRetry);
      mark('completed');
      return verdict;
    } finally {
      if (hasher) hasher.close();
    }
  }

  window.CitizenTransfer = { cfg, send, persist, hashFile, openHasher, sendInParts, whenOnline, Refused, sleep };
}());
