/* Citizen upload page.
 *
 * Served at <base>/c/<token> under a strict CSP: everything is plain DOM work, no inline
 * styles, no innerHTML with data. The link's API lives under the page's own path
 * (<page>/session, <page>/uploads, <page>/complete); file bytes go straight to S3 with
 * presigned POSTs, so the API never carries large bodies.
 */
(function () {
  'use strict';

  const MAX_PARALLEL = 3;             // uploads at once: more only fights for a phone's uplink
  const MAX_ATTEMPTS = 3;             // the first try plus two automatic retries
  const RETRY_DELAYS_MS = [1500, 5000];
  const URL_SAFETY_MS = 60 * 1000;    // ask for a fresh URL when the old one has less than this left
  const CAPTION_MAX = 1000;

  // Some phones hand over files without a type (HEIC, MOV on older Android): guess from the
  // extension so the file is not refused for a missing label. The server sniffs the bytes anyway.
  const TYPE_BY_EXTENSION = {
    jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp',
    heic: 'image/heic', heif: 'image/heif',
    mp4: 'video/mp4', m4v: 'video/mp4', mov: 'video/quicktime', '3gp': 'video/3gpp',
    webm: 'video/webm', mkv: 'video/x-matroska', avi: 'video/x-msvideo',
    mp3: 'audio/mpeg', m4a: 'audio/x-m4a', aac: 'audio/aac', wav: 'audio/wav', ogg: 'audio/ogg',
    oga: 'audio/ogg', amr: 'audio/amr', pdf: 'application/pdf',
  };
  // Other names browsers use for types the server knows under one name.
  const TYPE_ALIASES = {
    'image/jpg': 'image/jpeg', 'image/pjpeg': 'image/jpeg', 'audio/mp3': 'audio/mpeg',
    'audio/m4a': 'audio/x-m4a', 'audio/vnd.wave': 'audio/wav', 'video/avi': 'video/x-msvideo',
    'video/x-m4v': 'video/mp4', 'audio/3gpp': 'video/3gpp',
  };
  // Types the browser can draw as a thumbnail (HEIC mostly cannot).
  const PREVIEWABLE = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];

  // The script's own URL, so i18n.json is found next to it whatever the page path looks like.
  const SCRIPT_URL = document.currentScript ? document.currentScript.src : '../static/citizen.js';
  const API_BASE = location.pathname.replace(/\/+$/, '');

  const state = {
    lang: 'en',
    strings: {},
    session: null,
    declared: 0,       // files already declared on the server for this link
    items: [],         // one per chosen file, in the order shown
    nextKey: 1,
    phase: 'loading',  // loading | picking | sending | finishing | done | broken
    wakeLock: null,
  };

  const $ = (id) => document.getElementById(id);

  /* ---------- strings ---------- */

  async function loadStrings() {
    try {
      const response = await fetch(new URL('i18n.json', SCRIPT_URL).href, { cache: 'no-cache' });
      return response.ok ? await response.json() : {};
    } catch (err) {
      return {};  // the page still works with the English text baked into the HTML
    }
  }

  function t(key, vars) {
    const table = state.strings[state.lang] || {};
    const english = state.strings.en || {};
    let text = key in table ? table[key] : (key in english ? english[key] : key);
    for (const [name, value] of Object.entries(vars || {})) {
      text = text.split('{' + name + '}').join(String(value));
    }
    return text;
  }

  // Plural forms: "<key>.one" / "<key>.other", picked by the language's own rules.
  function tp(key, count, vars) {
    let form = 'other';
    try {
      form = new Intl.PluralRules(state.lang).select(count) === 'one' ? 'one' : 'other';
    } catch (err) { form = count === 1 ? 'one' : 'other'; }
    return t(key + '.' + form, Object.assign({ count: count }, vars || {}));
  }

  function applyStaticStrings() {
    document.documentElement.lang = state.lang;
    for (const node of document.querySelectorAll('[data-i18n]')) {
      node.textContent = t(node.getAttribute('data-i18n'));
    }
  }

  function formatBytes(bytes) {
    const units = ['unit.b', 'unit.kb', 'unit.mb', 'unit.gb'];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    const digits = unit === 0 || value >= 10 ? 0 : 1;
    const number = new Intl.NumberFormat(state.lang, { maximumFractionDigits: digits }).format(value);
    return number + '\u00a0' + t(units[unit]);
  }

  function formatDate(iso) {
    const date = new Date(iso);
    if (isNaN(date.getTime())) return iso;
    try {
      return new Intl.DateTimeFormat(state.lang, { dateStyle: 'long', timeStyle: 'short' }).format(date);
    } catch (err) { return date.toLocaleString(); }
  }

  /* ---------- talking to the API ---------- */

  class ApiError extends Error {
    constructor(code, message, status) {
      super(message);
      this.code = code;
      this.status = status;
    }
  }

  // Every error the API sends is {"code", "message"}; anything else (a proxy's HTML page, a
  // dropped connection) becomes a translated generic message so the citizen never sees junk.
  async function callApi(path, body) {
    const init = { method: body === undefined ? 'GET' : 'POST', cache: 'no-store',
                   credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(API_BASE + path, init);
    } catch (err) {
      throw new ApiError('network', t('error.network'), 0);
    }
    let data = null;
    try { data = await response.json(); } catch (err) { data = null; }
    if (!response.ok) {
      const message = data && typeof data.message === 'string' ? data.message : t('error.unexpected');
      throw new ApiError(data && data.code ? data.code : 'http_' + response.status, message, response.status);
    }
    if (data === null) throw new ApiError('bad_response', t('error.unexpected'), response.status);
    return data;
  }

  /* ---------- screen helpers ---------- */

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === 'text') node.textContent = value;
      else if (name === 'className') node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children || []) node.appendChild(child);
    return node;
  }

  function show(id, visible) { $(id).hidden = !visible; }

  function showError(title, message) {
    $('error-title').textContent = title;
    $('error-message').textContent = message;
    show('error', true);
    $('error').focus();
  }

  function clearError() { show('error', false); }

  // Re-setting the same text would not be announced again, so clear first.
  function announce(text) {
    const status = $('status');
    status.textContent = '';
    setTimeout(() => { status.textContent = text; }, 50);
  }

  /* ---------- start ---------- */

  async function start() {
    const stringsLoading = loadStrings();
    let session = null;
    let failure = null;
    try {
      session = await callApi('/session');
    } catch (err) {
      failure = err;
    }
    state.strings = await stringsLoading;
    state.lang = session && state.strings[session.language] ? session.language : 'en';
    applyStaticStrings();
    show('loading', false);
    if (failure) {
      showBrokenLink(failure);
      return;
    }
    state.session = session;
    state.declared = session.files_declared || 0;
    renderSession(session);
    state.phase = 'picking';
    updatePicker();
    updateSendBar();
    show('form', true);
  }

  function showBrokenLink(err) {
    state.phase = 'broken';
    const titleKey = 'error.' + err.code + '.title';
    const title = t(titleKey) === titleKey ? t('error.generic.title') : t(titleKey);
    $('agency-name').textContent = t('header.agency_unknown');
    showError(title, err.message);
  }

  function renderSession(session) {
    const agency = session.agency_name || '';
    $('agency-name').textContent = agency || t('header.agency_unknown');
    document.title = agency ? t('page.title') + ' — ' + agency : t('page.title');
    $('intro-text').textContent = agency ? t('intro.text', { agency: agency }) : t('intro.text_generic');
    $('privacy').textContent = agency ? t('footer.privacy', { agency: agency }) : t('footer.privacy_generic');
    if (session.note) {
      $('note-text').textContent = session.note;
      show('note', true);
    }
    $('expires').textContent = t('expires', { date: formatDate(session.expires_at) });
    $('limits').textContent = t('limits', { count: session.max_files, size: formatBytes(session.max_file_bytes) });
    if (state.declared > 0) {
      $('already').textContent = tp('already', state.declared, { remaining: Math.max(0, remainingSlots()) });
      show('already', true);
    }
    $('file-input').setAttribute('accept', acceptAttribute(session.allowed_types || []));
    $('file-input').addEventListener('change', onFilesChosen);
    $('send').addEventListener('click', onSend);
    $('finish-retry').addEventListener('click', finish);
  }

  // "image/*,video/*,audio/*,application/pdf": wildcards let phones offer the camera and
  // gallery; odd types a wildcard lets through are refused with a message when picked.
  function acceptAttribute(allowed) {
    const parts = [];
    for (const type of allowed) {
      const family = type.split('/')[0];
      const entry = ['image', 'video', 'audio'].includes(family) ? family + '/*' : type;
      if (!parts.includes(entry)) parts.push(entry);
    }
    return parts.join(',');
  }

  /* ---------- choosing files ---------- */

  function remainingSlots() {
    return state.session.max_files - state.declared - state.items.length;
  }

  function contentTypeOf(file) {
    let type = (file.type || '').split(';')[0].trim().toLowerCase();
    if (TYPE_ALIASES[type]) type = TYPE_ALIASES[type];
    if (!type || !state.session.allowed_types.includes(type)) {
      const ext = (file.name.split('.').pop() || '').toLowerCase();
      const guess = TYPE_BY_EXTENSION[ext];
      if (guess && (!type || type === 'application/octet-stream')) type = guess;
    }
    return type;
  }

  function kindOf(type) {
    if (type === 'application/pdf') return 'pdf';
    const family = type.split('/')[0];
    return ['image', 'video', 'audio'].includes(family) ? family : 'file';
  }

  // Returns a message explaining why the file cannot be added, or null if it can.
  function rejectionFor(file, type) {
    const session = state.session;
    const same = state.items.some((it) => it.file.name === file.name && it.file.size === file.size
                                         && it.file.lastModified === file.lastModified);
    if (same) return t('reject.duplicate', { name: file.name });
    if (!session.allowed_types.includes(type)) return t('reject.type', { name: file.name });
    if (file.size <= 0) return t('reject.empty', { name: file.name });
    if (file.size > session.max_file_bytes) {
      return t('reject.too_large', { name: file.name, size: formatBytes(file.size), max: formatBytes(session.max_file_bytes) });
    }
    if (remainingSlots() <= 0) return t('reject.too_many', { name: file.name, max: session.max_files });
    return null;
  }

  function onFilesChosen(event) {
    const input = event.target;
    const messages = $('pick-messages');
    messages.textContent = '';
    clearError();
    for (const file of Array.from(input.files || [])) {
      const type = contentTypeOf(file);
      const problem = rejectionFor(file, type);
      if (problem) {
        messages.appendChild(el('li', { text: problem }));
      } else {
        addItem(file, type);
      }
    }
    input.value = '';  // so the same file can be picked again after removing it
    updatePicker();
    updateSendBar();
  }

  function addItem(file, type) {
    const item = {
      key: state.nextKey++, file: file, type: type, kind: kindOf(type), caption: '',
      status: 'ready', fileId: null, upload: null, sent: 0, error: '', previewUrl: null, row: null,
    };
    item.row = buildRow(item);
    state.items.push(item);
    $('file-list').appendChild(item.row.li);
  }

  function buildRow(item) {
    const name = item.file.name;
    const captionId = 'caption-' + item.key;
    const thumb = el('div', { className: 'thumb thumb-' + item.kind, 'aria-hidden': 'true' });
    if (PREVIEWABLE.includes(item.type)) {
      item.previewUrl = URL.createObjectURL(item.file);
      const img = el('img', { src: item.previewUrl, alt: '' });
      img.addEventListener('error', () => { img.remove(); thumb.textContent = t('kind.' + item.kind); });
      thumb.appendChild(img);
    } else {
      thumb.textContent = t('kind.' + item.kind);
    }
    const remove = el('button', { type: 'button', className: 'link-button remove',
                                  'aria-label': t('file.remove_label', { name: name }), text: t('file.remove') });
    remove.addEventListener('click', () => removeItem(item));

    const caption = el('textarea', { id: captionId, className: 'caption', rows: '2', maxlength: String(CAPTION_MAX),
                                     placeholder: t('file.caption_placeholder'), autocomplete: 'off' });
    caption.addEventListener('input', () => { item.caption = caption.value; });

    const progress = el('progress', { max: '1', value: '0', 'aria-label': t('file.progress_label', { name: name }) });
    const status = el('p', { className: 'file-status' });
    const error = el('p', { className: 'file-error', hidden: '' });
    const retry = el('button', { type: 'button', className: 'button button-small button-primary',
                                 'aria-label': t('file.retry_label', { name: name }), text: t('file.retry') });
    const skip = el('button', { type: 'button', className: 'button button-small button-secondary',
                                'aria-label': t('file.skip_label', { name: name }), text: t('file.skip') });
    retry.addEventListener('click', () => retryItem(item));
    skip.addEventListener('click', () => skipItem(item));
    const actions = el('div', { className: 'file-actions', hidden: '' }, [retry, skip]);
    const progressBox = el('div', { className: 'file-progress', hidden: '' }, [progress, status, error, actions]);

    const info = el('div', { className: 'file-info' }, [
      el('p', { className: 'file-name', text: name }),
      el('p', { className: 'file-meta', text: t('kind.' + item.kind) + ' · ' + formatBytes(item.file.size) }),
    ]);
    const captionLabel = el('label', { className: 'caption-label', for: captionId, text: t('file.caption_label') });
    const li = el('li', { className: 'file' }, [
      el('div', { className: 'file-head' }, [thumb, info, remove]),
      captionLabel, caption, progressBox,
    ]);
    return { li, remove, caption, captionLabel, progress, progressBox, status, error, actions, retry };
  }

  function removeItem(item) {
    const index = state.items.indexOf(item);
    if (index < 0 || state.phase !== 'picking') return;
    state.items.splice(index, 1);
    dropItem(item);
    // Keep keyboard users in the list rather than sending focus back to the top of the page.
    const next = state.items[index] || state.items[index - 1];
    if (next) next.row.remove.focus(); else $('file-input').focus();
    $('pick-messages').textContent = '';
    updatePicker();
    updateSendBar();
  }

  function dropItem(item) {
    if (item.previewUrl) URL.revokeObjectURL(item.previewUrl);
    item.row.li.remove();
  }

  function updatePicker() {
    const input = $('file-input');
    const full = remainingSlots() <= 0;
    input.disabled = state.phase !== 'picking' || full;
    $('pick-text').textContent = full ? t('full') : t(state.items.length ? 'pick.add_more' : 'pick.button');
    const heading = $('files-heading');
    heading.hidden = state.items.length === 0;
    heading.textContent = tp('files.heading', state.items.length);
  }

  function updateSendBar() {
    const count = state.items.length;
    const send = $('send');
    send.textContent = count ? tp('send.button', count) : t('send.button.none');
    send.disabled = count === 0 || state.phase !== 'picking';
    $('send-hint').textContent = count ? t('send.hint_ready') : t('send.hint_none');
  }

  /* ---------- sending ---------- */

  async function onSend() {
    if (state.phase !== 'picking' || state.items.length === 0) return;
    clearError();
    $('pick-messages').textContent = '';
    setPhase('sending');
    // Bring the overall progress into view: with many files it would be below the fold.
    $('upload-heading').focus();
    const fresh = state.items.filter((item) => !item.fileId);
    try {
      await declare(fresh);
    } catch (err) {
      setPhase('picking');
      showError(t('error.upload_request.title'), err.message);
      return;
    }
    await runQueue(state.items.filter((item) => item.status === 'waiting'));
    afterRound();
  }

  function setPhase(phase) {
    state.phase = phase;
    const locked = phase !== 'picking';
    for (const item of state.items) {
      if (locked && item.status === 'ready') item.row.status.textContent = t('file.status.waiting');
      item.row.caption.readOnly = locked;
      // Once sending, an empty description box only looks like something left to fill in.
      const noCaption = locked && !item.caption.trim();
      item.row.caption.hidden = noCaption;
      item.row.captionLabel.hidden = noCaption;
      item.row.remove.hidden = locked;
      item.row.progressBox.hidden = !locked;
    }
    $('send').hidden = locked;
    $('send-hint').hidden = locked;
    show('upload-panel', locked);
    show('finish-retry', false);
    show('pick-label', !locked);
    updatePicker();
    updateSendBar();
    if (phase === 'sending') holdWakeLock(); else releaseWakeLock();
  }

  // One request for all new files: the server checks the limits and returns one presigned
  // POST per file, in the order asked.
  async function declare(items) {
    if (items.length === 0) return;
    $('overall-text').textContent = t('upload.preparing');
    const files = items.map((item) => {
      const entry = { name: item.file.name, size: item.file.size, content_type: item.type };
      const caption = item.caption.trim().slice(0, CAPTION_MAX);
      if (caption) entry.caption = caption;
      return entry;
    });
    const response = await callApi('/uploads', { files: files });
    state.declared += items.length;
    items.forEach((item, index) => {
      const upload = response.uploads[index];
      item.fileId = upload.file_id;
      item.upload = upload;
      setStatus(item, 'waiting');
    });
    updateOverall();
  }

  // A small worker pool: each worker takes the next waiting file until none are left.
  async function runQueue(items) {
    const queue = items.slice();
    const worker = async () => {
      while (queue.length) await uploadWithRetries(queue.shift());
    };
    const workers = [];
    for (let i = 0; i < Math.min(MAX_PARALLEL, queue.length); i += 1) workers.push(worker());
    await Promise.all(workers);
  }

  async function uploadWithRetries(item) {
    let lastStatus = null;
    item.error = '';
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      if (attempt > 1) {
        setStatus(item, 'retrying');
        await sleep(RETRY_DELAYS_MS[attempt - 2] || 5000);
      }
      try {
        if (attempt > 1 && needsFreshUrl(item, lastStatus)) await refreshUrl(item);
        setStatus(item, 'uploading');
        await postToS3(item);
        item.sent = item.file.size;
        setStatus(item, 'done');
        updateOverall();
        announce(t('upload.file_done', { name: item.file.name }));
        return;
      } catch (err) {
        lastStatus = err.status;
        item.sent = 0;
        updateOverall();
        // The API refusing to sign again (e.g. the link expired) will not change on retry.
        if (err instanceof ApiError && err.status >= 400 && err.status < 500) {
          item.error = err.message;
          break;
        }
      }
    }
    setStatus(item, 'failed');
    announce(t('upload.file_failed', { name: item.file.name }));
  }

  // Presigned POSTs expire (S3 answers 403 then); the page may also have sat in a pocket.
  function needsFreshUrl(item, lastStatus) {
    const expires = Date.parse(item.upload.expires_at);
    return lastStatus === 403 || isNaN(expires) || expires - Date.now() < URL_SAFETY_MS;
  }

  async function refreshUrl(item) {
    const response = await callApi('/uploads', { files: [{
      name: item.file.name, size: item.file.size, content_type: item.type, file_id: item.fileId,
    }] });
    item.upload = response.uploads[0];
  }

  // XMLHttpRequest rather than fetch: only XHR reports upload progress.
  function postToS3(item) {
    return new Promise((resolve, reject) => {
      const form = new FormData();
      // S3 requires the policy fields before the file, and the file as the last part.
      for (const [name, value] of Object.entries(item.upload.fields || {})) form.append(name, value);
      form.append('file', blobWithType(item), item.file.name);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', item.upload.url);
      xhr.upload.addEventListener('progress', (event) => {
        if (!event.lengthComputable || !event.total) return;
        item.sent = Math.min(item.file.size, Math.round(item.file.size * event.loaded / event.total));
        scheduleProgress(item);
      });
      xhr.addEventListener('load', () => {
        if (xhr.status >= 200 && xhr.status < 300) resolve();
        else reject(Object.assign(new Error('upload failed'), { status: xhr.status }));
      });
      for (const name of ['error', 'abort', 'timeout']) {
        xhr.addEventListener(name, () => reject(Object.assign(new Error('upload ' + name), { status: 0 })));
      }
      xhr.send(form);
    });
  }

  // Send the part with the type we declared, even when the browser did not know it.
  function blobWithType(item) {
    return item.file.type === item.type ? item.file : item.file.slice(0, item.file.size, item.type);
  }

  function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

  /* ---------- progress ---------- */

  let progressFrame = 0;
  const progressDirty = new Set();

  // Progress events come fast; redraw at most once per frame.
  function scheduleProgress(item) {
    progressDirty.add(item);
    if (progressFrame) return;
    progressFrame = requestAnimationFrame(() => {
      progressFrame = 0;
      for (const dirty of progressDirty) {
        if (dirty.status === 'uploading') setStatus(dirty, 'uploading');
      }
      progressDirty.clear();
      updateOverall();
    });
  }

  function setStatus(item, status) {
    item.status = status;
    const row = item.row;
    const size = item.file.size;
    row.progress.value = status === 'done' ? 1 : (size ? item.sent / size : 0);
    const percent = Math.floor(100 * item.sent / (size || 1));
    row.status.textContent = status === 'uploading' ? t('file.status.uploading', { percent: percent })
      : t('file.status.' + status);
    row.li.className = 'file is-' + status;
    row.error.textContent = item.error;
    row.error.hidden = !(status === 'failed' && item.error);
    row.actions.hidden = status !== 'failed';
  }

  function updateOverall() {
    const counted = state.items.filter((item) => item.status !== 'skipped');
    const total = counted.reduce((sum, item) => sum + item.file.size, 0);
    const sent = counted.reduce((sum, item) => sum + item.sent, 0);
    const bar = $('overall-progress');
    bar.max = total || 1;
    bar.value = sent;
    $('overall-text').textContent = t('upload.overall_text', { sent: formatBytes(sent), total: formatBytes(total) });
  }

  /* ---------- after a round of uploads ---------- */

  const ACTIVE = ['waiting', 'uploading', 'retrying'];

  // Called whenever some uploads end. Finishing waits until every file is sent or given up.
  function afterRound() {
    if (state.phase !== 'sending') return;
    if (state.items.some((item) => ACTIVE.includes(item.status))) return;
    const failed = state.items.filter((item) => item.status === 'failed');
    const summary = $('upload-summary');
    if (failed.length) {
      summary.textContent = t('upload.some_failed');
      summary.hidden = false;
      releaseWakeLock();
      failed[0].row.retry.focus();
      return;
    }
    summary.hidden = true;
    finish();
  }

  async function retryItem(item) {
    if (state.phase !== 'sending' || item.status !== 'failed') return;
    $('upload-summary').hidden = true;
    holdWakeLock();
    item.error = '';
    setStatus(item, 'waiting');
    await runQueue([item]);
    afterRound();
  }

  function skipItem(item) {
    if (state.phase !== 'sending' || item.status !== 'failed') return;
    item.sent = 0;
    setStatus(item, 'skipped');
    updateOverall();
    afterRound();
  }

  async function finish() {
    if (state.phase !== 'sending') return;
    const sent = state.items.filter((item) => item.status === 'done');
    if (sent.length === 0) {
      // Nothing arrived: completing would close the link for nothing. Let them try again.
      for (const item of state.items) dropItem(item);
      state.items = [];
      setPhase('picking');
      $('pick-messages').appendChild(el('li', { text: t('upload.none_sent') }));
      announce(t('upload.none_sent'));
      return;
    }
    state.phase = 'finishing';
    show('finish-retry', false);
    $('overall-text').textContent = t('upload.finishing');
    let result;
    try {
      result = await callApi('/complete', {});
    } catch (err) {
      if (err.code === 'link_used') {
        // An earlier attempt went through but its answer was lost: the files are in.
        result = { files: sent.length, submission_id: null };
      } else {
        state.phase = 'sending';
        showError(t('error.complete.title'), err.message);
        show('finish-retry', true);
        return;
      }
    }
    showConfirmation(result, sent.length);
  }

  function showConfirmation(result, sentCount) {
    state.phase = 'done';
    releaseWakeLock();
    clearError();
    // Count what this page actually delivered: the server's `files` also counts files that
    // were declared but then given up, which would overstate what arrived.
    const count = sentCount;
    const agency = state.session.agency_name;
    $('confirm-count').textContent = agency ? tp('confirm.count', count, { agency: agency })
      : tp('confirm.count_generic', count);
    $('confirm-reference').textContent = result.submission_id ? t('confirm.reference', { id: result.submission_id }) : '';
    for (const item of state.items) if (item.previewUrl) URL.revokeObjectURL(item.previewUrl);
    show('form', false);
    show('confirmation', true);
    $('confirm-heading').focus();
    announce(t('confirm.heading'));
  }

  /* ---------- staying alive while sending ---------- */

  function isBusy() { return state.phase === 'sending' || state.phase === 'finishing'; }

  window.addEventListener('beforeunload', (event) => {
    if (!isBusy()) return undefined;
    event.preventDefault();
    event.returnValue = t('leave.warning');  // most browsers show their own text instead
    return event.returnValue;
  });

  // A phone that locks its screen may suspend the page and stall the uploads.
  async function holdWakeLock() {
    if (!('wakeLock' in navigator) || state.wakeLock) return;
    try {
      state.wakeLock = await navigator.wakeLock.request('screen');
      state.wakeLock.addEventListener('release', () => { state.wakeLock = null; });
    } catch (err) { state.wakeLock = null; }  // not allowed here: uploads still work
  }

  function releaseWakeLock() {
    if (state.wakeLock) state.wakeLock.release().catch(() => {});
    state.wakeLock = null;
  }

  // The lock is dropped when the tab is hidden; take it again on return if still sending.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && state.phase === 'sending') holdWakeLock();
  });

  start().catch(() => {
    show('loading', false);
    showError('Something went wrong', 'Please reload the page.');
  });
}());
