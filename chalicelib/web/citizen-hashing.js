/* The upload page's hashing: one pass over a file, in order, that gives the whole file's SHA-256
 * (hash-wasm, incremental, so the file is never all in memory) and, for each part asked for, the
 * part's own SHA-256 for S3 to check (x-amz-checksum-sha256). Each part's bytes are read once and
 * feed both hashes.
 *
 * The page runs it in a dedicated Web Worker (this file, loaded with `new Worker`), so hashing never
 * holds up the page or the uploads; the page also loads it as a plain script so that it can hash on
 * its own thread if a worker cannot start. Calls to the worker are answered in the order made.
 */
(function (scope) {
  'use strict';

  function toBase64(buffer) {
    let text = '';
    const bytes = new Uint8Array(buffer);
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(text);
  }

  // A turn of the event loop without the 4 ms clamp of nested timers: lets answers and digests
  // through between slices of the whole-file hash.
  function yieldTurn() {
    return new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => { channel.port1.close(); resolve(); };
      channel.port2.postMessage(null);
    });
  }

  // `partDigest`: 'webcrypto' (Chromium digests on a thread of its own) or 'wasm' (a second hash-wasm
  // hasher here). A part's checksum is answered as soon as it is known: the whole-file hash (the
  // slower one, wasm) follows behind on the bytes already read, at most `lagBytes` behind, so parts
  // can go out while it catches up and memory stays bounded.
  async function openFile(file, hashwasm, partDigest, lagBytes) {
    const whole = await hashwasm.createSHA256();
    whole.init();
    const own = partDigest === 'wasm' || !(scope.crypto && scope.crypto.subtle) ? await hashwasm.createSHA256() : null;
    const slice = 1024 * 1024;
    const behind = [];  // bytes read, not yet in the whole-file hash
    let lag = 0;
    let pumping = null;
    let caughtUp = () => {};
    let next = 0;
    const pump = async () => {
      while (behind.length) {
        const bytes = behind[0];
        for (let at = 0; at < bytes.length; at += slice) {
          whole.update(bytes.subarray(at, at + slice));
          await yieldTurn();
        }
        behind.shift();
        lag -= bytes.length;
        caughtUp();
      }
      pumping = null;
    };
    const waitLag = async (size) => {
      while (behind.length && lag + size > (lagBytes || 0)) await new Promise((resolve) => { caughtUp = resolve; });
    };
    let turn = Promise.resolve();  // one part at a time, in the order asked, however the calls come
    const inTurn = (step) => {
      const run = turn.then(step);
      turn = run.catch(() => null);
      return run;
    };
    return {
      // The part [start, end): its base64 SHA-256 when `checksum`, else null. Parts come in order.
      part: (start, end, checksum) => inTurn(async () => {
        if (start !== next) throw new Error('parts are hashed in order');
        next = end;
        await waitLag(end - start);
        const bytes = new Uint8Array(await file.slice(start, end).arrayBuffer());
        let digest = null;
        if (checksum) digest = own ? own.init().update(bytes).digest('binary') : scope.crypto.subtle.digest('SHA-256', bytes);
        behind.push(bytes);
        lag += bytes.length;
        if (!pumping) pumping = pump();
        return digest ? toBase64(await digest) : null;
      }),
      digest: () => inTurn(async () => {
        if (pumping) await pumping;  // no part is added meanwhile: this runs in turn
        return whole.digest('hex');
      }),
    };
  }

  const inWorker = typeof WorkerGlobalScope !== 'undefined' && scope instanceof WorkerGlobalScope;
  if (!inWorker) {
    scope.CitizenHashing = { openFile, toBase64 };
    return;
  }
  scope.importScripts('hash-wasm-sha256.js');
  let opened = null;
  let queue = Promise.resolve();
  const ops = {
    open: async (args) => { opened = await openFile(args.file, scope.hashwasm, args.partDigest, args.lagBytes); return null; },
    part: (args) => opened.part(args[0], args[1], args[2]),
    digest: () => opened.digest(),
  };
  scope.onmessage = (event) => {
    const { id, op, args } = event.data;
    queue = queue.then(() => ops[op](args))
      .then((value) => scope.postMessage({ id, value }),
            (err) => scope.postMessage({ id, error: String((err && err.message) || err) }));
  };
}(self));
