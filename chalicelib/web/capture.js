/* The officer's capture page: an agency key (kept only in this tab's sessionStorage), a case
   reference and files; declares them (POST /agency/captures), posts each to S3 with its own
   presigned form, then completes the capture. Loaded under a CSP with script-src 'self'. */
(function () {
  'use strict';

  const KEY_STORE = 'evidence.capture.key';
  const CASE_REF = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
  const MAX_ATTEMPTS = 2;  // a failed upload is signed again and retried once
  const TYPE_BY_EXTENSION = {
    jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp',
    heic: 'image/heic', heif: 'image/heif', mp4: 'video/mp4', m4v: 'video/mp4', mov: 'video/quicktime',
    '3gp': 'video/3gpp', webm: 'video/webm', mp3: 'audio/mpeg', m4a: 'audio/x-m4a', aac: 'audio/aac',
    wav: 'audio/wav', ogg: 'audio/ogg', amr: 'audio/amr', pdf: 'application/pdf',
  };
  // The page is <base>/agency/capture; the API is <base>/agency/...
  const API_BASE = location.pathname.replace(/\/capture\/?$/, '');
  const state = { items: [], nextKey: 1, busy: false };
  const $ = (id) => document.getElementById(id);

  class ApiError extends Error {
    constructor(code, message, status) { super(message); this.code = code; this.status = status; }
  }

  function key() { return sessionStorage.getItem(KEY_STORE) || ''; }

  async function callApi(method, path, body) {
    const init = { method: method, cache: 'no-store', credentials: 'omit',
                   headers: { Accept: 'application/json', Authorization: 'Bearer ' + key() } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try { response = await fetch(API_BASE + path, init); } catch (err) {
      throw new ApiError('network', 'The connection failed. Check your signal and try again.', 0);
    }
    let data = null;
    try { data = await response.json(); } catch (err) { data = null; }
    if (!response.ok) {
      const message = data && typeof data.message === 'string' ? data.message
        : (response.status === 401 || response.status === 403 ? 'That key was not accepted.'
          : 'Something went wrong (' + response.status + ').');
      throw new ApiError(data && data.code ? data.code : 'http_' + response.status, message, response.status);
    }
    return data;
  }

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

  function showError(title, message) {
    $('error-title').textContent = title;
    $('error-message').textContent = message;
    $('error').hidden = false;
    $('error').focus();
  }

  function clearError() { $('error').hidden = true; }

  function formatBytes(bytes) {
    const units = ['bytes', 'KB', 'MB', 'GB'];
    let value = bytes, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return (unit ? value.toFixed(1) : String(value)) + ' ' + units[unit];
  }

  /* ---------- the key ---------- */

  async function signIn(candidate) {
    sessionStorage.setItem(KEY_STORE, candidate);
    try {
      const settings = await callApi('GET', '/settings');
      $('agency-name').textContent = settings.name || 'Your agency';
      $('key-hint').textContent = 'Signed in with key …' + candidate.slice(-4) + '.';
      $('key-form').hidden = true;
      $('form').hidden = false;
      updateSendBar();
    } catch (err) {
      sessionStorage.removeItem(KEY_STORE);
      showKeyForm(err.message);
    }
  }

  function showKeyForm(problem) {
    $('form').hidden = true;
    $('confirmation').hidden = true;
    $('key-form').hidden = false;
    $('key-problem').textContent = problem || '';
    $('key-problem').hidden = !problem;
    $('api-key').value = '';
  }

  /* ---------- files ---------- */

  function typeOf(file) {
    const known = (file.type || '').toLowerCase();
    if (known) return known === 'image/jpg' ? 'image/jpeg' : known;
    const ext = (file.name.split('.').pop() || '').toLowerCase();
    return TYPE_BY_EXTENSION[ext] || 'application/octet-stream';
  }

  function onFilesChosen(event) {
    for (const file of Array.from(event.target.files || [])) addItem(file);
    event.target.value = '';
    updateSendBar();
  }

  function addItem(file) {
    const item = { key: state.nextKey++, file: file, type: typeOf(file), status: 'ready', upload: null };
    const caption = el('input', { type: 'text', className: 'caption', id: 'caption-' + item.key, maxlength: '1000' });
    const status = el('p', { className: 'file-status', text: 'Ready' });
    const remove = el('button', { type: 'button', className: 'link-button', text: 'Remove' });
    const li = el('li', { className: 'file is-ready' }, [
      el('div', { className: 'file-head' }, [el('div', { className: 'file-info' }, [
        el('p', { className: 'file-name', text: file.name }),
        el('p', { className: 'file-meta', text: formatBytes(file.size) + ' · ' + item.type })]), remove]),
      el('label', { className: 'caption-label', for: caption.id, text: 'Description (optional)' }), caption, status]);
    remove.addEventListener('click', () => {
      state.items = state.items.filter((other) => other !== item);
      li.remove();
      updateSendBar();
    });
    item.row = { li: li, caption: caption, status: status, remove: remove };
    state.items.push(item);
    $('file-list').appendChild(li);
  }

  function setStatus(item, status, text) {
    item.status = status;
    item.row.li.className = 'file is-' + status;
    item.row.status.textContent = text;
  }

  function updateSendBar() {
    const count = state.items.length;
    const caseOk = CASE_REF.test($('case-ref').value.trim());
    $('files-heading').hidden = !count;
    $('files-heading').textContent = count + (count === 1 ? ' file' : ' files');
    $('send').disabled = state.busy || !count || !caseOk;
    $('send').textContent = count ? 'Upload ' + count + (count === 1 ? ' file' : ' files') + ' to case'
      : 'Upload to case';
    $('send-hint').hidden = count > 0 && caseOk;
  }

  /* ---------- sending ---------- */

  async function onSend() {
    clearError();
    state.busy = true;
    updateSendBar();
    for (const item of state.items) {
      item.row.caption.readOnly = true;
      item.row.remove.hidden = true;
    }
    const caseRef = $('case-ref').value.trim();
    try {
      const capture = await callApi('POST', '/captures', { case_ref: caseRef, files: state.items.map(declared) });
      capture.files.forEach((signed, i) => { state.items[i].fileId = signed.file_id; state.items[i].upload = signed.upload; });
      for (const item of state.items) await uploadWithRetry(capture.capture_id, item);
      const failed = state.items.filter((item) => item.status === 'failed');
      if (failed.length) {
        showError('Some files were not uploaded', failed.length + ' of ' + state.items.length +
          ' files failed. Check your connection and tap Upload again.');
        return retryLater(capture.capture_id);
      }
      await complete(capture.capture_id, caseRef);
    } catch (err) {
      showError('Nothing was uploaded', err.message);
      unlock();
    } finally {
      state.busy = false;
      updateSendBar();
    }
  }

  function declared(item) {
    const caption = item.row.caption.value.trim();
    return Object.assign({ name: item.file.name, size: item.file.size, content_type: item.type },
      caption ? { caption: caption } : {});
  }

  async function uploadWithRetry(captureId, item) {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      setStatus(item, 'uploading', 'Uploading…');
      try {
        if (attempt > 1) await resign(captureId, item);
        await postToS3(item);
        setStatus(item, 'done', 'Uploaded');
        return;
      } catch (err) {
        setStatus(item, 'failed', 'Upload failed');
      }
    }
  }

  async function resign(captureId, item) {
    const again = await callApi('POST', '/captures/' + captureId + '/files',
      { files: [Object.assign(declared(item), { file_id: item.fileId })] });
    item.upload = again.files[0].upload;
  }

  function postToS3(item) {
    const form = new FormData();
    for (const [name, value] of Object.entries(item.upload.fields || {})) form.append(name, value);
    const blob = item.file.type === item.type ? item.file : item.file.slice(0, item.file.size, item.type);
    form.append('file', blob, item.file.name);  // S3 wants the file last
    return fetch(item.upload.url, { method: 'POST', body: form, credentials: 'omit' }).then((response) => {
      if (!response.ok) throw new Error('upload failed: ' + response.status);
    });
  }

  function retryLater(captureId) {
    const retry = async () => {
      $('send').removeEventListener('click', retry);
      clearError();
      state.busy = true;
      updateSendBar();
      try {
        for (const item of state.items.filter((i) => i.status === 'failed')) await uploadWithRetry(captureId, item);
        if (state.items.some((item) => item.status === 'failed')) {
          showError('Some files were not uploaded', 'Check your connection and tap Upload again.');
          return retryLater(captureId);
        }
        await complete(captureId, $('case-ref').value.trim());
      } catch (err) {
        showError('The upload could not finish', err.message);
        retryLater(captureId);
      } finally {
        state.busy = false;
        updateSendBar();
      }
    };
    $('send').removeEventListener('click', onSend);
    $('send').addEventListener('click', retry);
  }

  async function complete(captureId, caseRef) {
    const done = await callApi('POST', '/captures/' + captureId + '/complete', {});
    for (const item of state.items) setStatus(item, 'done', 'Uploaded · verified on arrival');
    $('form').hidden = true;
    $('confirmation').hidden = false;
    $('confirm-count').textContent = done.files.length + (done.files.length === 1 ? ' file' : ' files') +
      ' added to case ' + caseRef + '.';
    $('confirm-reference').textContent = 'Capture ' + captureId;
    $('status').textContent = 'Upload complete';
    $('confirm-heading').focus();
  }

  function unlock() {
    for (const item of state.items) {
      item.row.caption.readOnly = false;
      item.row.remove.hidden = false;
      setStatus(item, 'ready', 'Ready');
    }
  }

  function reset() {
    state.items = [];
    $('file-list').textContent = '';
    $('send').removeEventListener('click', onSend);
    $('send').addEventListener('click', onSend);
    $('confirmation').hidden = true;
    $('form').hidden = false;
    updateSendBar();
  }

  /* ---------- start ---------- */

  function start() {
    $('use-key').addEventListener('click', () => {
      const candidate = $('api-key').value.trim();
      if (candidate) signIn(candidate);
    });
    $('api-key').addEventListener('keydown', (event) => { if (event.key === 'Enter') $('use-key').click(); });
    $('forget-key').addEventListener('click', () => { sessionStorage.removeItem(KEY_STORE); showKeyForm(); });
    $('case-ref').addEventListener('input', updateSendBar);
    $('file-input').addEventListener('change', onFilesChosen);
    $('camera-input').addEventListener('change', onFilesChosen);
    $('send').addEventListener('click', onSend);
    $('again').addEventListener('click', reset);
    if (key()) signIn(key()); else showKeyForm();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
