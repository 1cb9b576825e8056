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
    partParallel: 4,        // parts in flight at once
    stallMs: 20000,         // no bytes for this long: abort that request and send it again
    backoffMs: [1000, 2000, 4000, 8000, 15000, 30000],
    hashChunk: 4 * 1024 * 1024,
  };

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

  function toHex(buffer) {
    return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function toBase64(buffer) {
    let text = '';
    for (const b of new Uint8Array(buffer)) text += String.fromCharCode(b);
    return btoa(text);
  }

  // The whole file's SHA-256, read in chunks: the file is never all in memory. Null when this
  // browser cannot hash incrementally (the server still hashes what it receives).
  async function hashFile(file, onChunk) {
    if (!window.hashwasm || !window.hashwasm.createSHA256) return null;
    const hasher = await window.hashwasm.createSHA256();
    hasher.init();
    for (let start = 0; start < file.size; start += cfg.hashChunk) {
      const chunk = await file.slice(start, Math.min(file.size, start + cfg.hashChunk)).arrayBuffer();
      hasher.update(new Uint8Array(chunk));
      if (onChunk) onChunk(start + chunk.byteLength);
    }
    return hasher.digest('hex');
  }

  async function partChecksum(buffer) {
    if (!window.crypto || !crypto.subtle) return null;
    return toBase64(await crypto.subtle.digest('SHA-256', buffer));
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
    const held = await persist(() => api(base + '/parts'), onRetry);
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
    // One reader goes through the file in order, once: each part's bytes feed the whole-file
    // hash and, for a part S3 lacks, its own checksum; the part is then queued for the senders
    // with its URL already being signed. The reader stays at most two rounds of parts ahead.
    const hasher = window.hashwasm && window.hashwasm.createSHA256 ? await window.hashwasm.createSHA256() : null;
    if (hasher) hasher.init();
    const ready = [];
    const waiting = [];
    let readAll = false;
    const changed = () => { while (waiting.length) waiting.shift()(); };
    const until = async (condition) => { while (!condition()) await new Promise((resolve) => waiting.push(resolve)); };
    // URLs for parts read ahead are asked for together: one API call for every part queued
    // while the previous call was out (the API answers one call at a time locally).
    let previous = Promise.resolve();
    let gathering = null;
    const signAhead = (entry) => {
      if (!gathering) {
        const parts = [];
        const call = previous.then(() => { gathering = null; return api(base + '/parts', { parts }); });
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
          // Sent as a Blob: Chromium streams it from the file (an ArrayBuffer body was about 5x slower).
          const body = file.slice(start, Math.min(file.size, start + partSize));
          const bytes = await body.arrayBuffer();
          if (hasher) hasher.update(new Uint8Array(bytes));
          if (done.has(number)) continue;
          const checksum = await partChecksum(bytes);
          const ask = { parts: [checksum ? { part_number: number, sha256: checksum } : { part_number: number }] };
          ready.push({ number, body, ask, signing: signAhead(ask.parts[0]) });
          changed();
        }
      } finally {
        readAll = true;
        changed();
      }
    })();

    const sendPart = async (item) => {
      const { number, body, ask } = item;
      await persist(async (tries) => {
        moving.set(number, 0);
        const first = tries === 0 ? await item.signing : null;  // signed again on a retry (or if it failed)
        const part = first || (await api(base + '/parts', ask)).parts[0];
        try {
          await send('PUT', part.url, body, part.headers, (loaded) => { moving.set(number, loaded); report(); });
        } finally {
          moving.delete(number);
        }
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
    await Promise.all(senders.concat([reader]));
    const sha256 = hasher ? hasher.digest('hex') : null;
    return persist(() => api(base + '/complete', sha256 ? { sha256: sha256 } : {}), onRetry);
  }

  window.CitizenTransfer = { cfg, send, persist, hashFile, sendInParts, whenOnline, Refused, sleep };
}());
