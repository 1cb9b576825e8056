// A community portal's page: accept the terms, give the contact details asked for, then continue to
// the upload page of a fresh private link (or have that link texted). Errors sit beside their field
// and focus moves to the first one; the server's errors are shown in the page's language by code.
"use strict";

const strings = JSON.parse(document.getElementById("portal-strings").textContent || "{}");
const form = document.getElementById("portal-form");
const base = location.pathname.replace(/\/+$/, "");

function say(key, values) {
  let text = strings[key] || strings["error.generic"] || "";
  for (const [name, value] of Object.entries(values || {})) text = text.replace("{" + name + "}", String(value));
  return text;
}

function fieldError(id, message) {
  const box = document.getElementById(id + "-error");
  const input = document.getElementById(id);
  if (!box || !input) return false;
  box.textContent = message || "";
  box.hidden = !message;
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
  return Boolean(message);
}

function formError(message) {
  const box = document.getElementById("form-error");
  box.textContent = message || "";
  box.hidden = !message;
  if (message) box.focus();
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$/;
const PHONE = /^\+[1-9][0-9]{7,14}$/;

function checkContact(name, value, required) {
  if (!value) return required ? say("error.contact_required") : "";
  if (name === "email" && !EMAIL.test(value)) return say("error.invalid_email");
  if (name === "phone" && !PHONE.test(value)) return say("error.invalid_phone");
  return "";
}

// Check the fields on the page; put each problem beside its field; focus the first. The request body, or null.
function collect() {
  const problems = [];
  const accepted = document.getElementById("accept").checked;
  if (fieldError("accept", accepted ? "" : say("error.terms_not_accepted"))) problems.push("accept");
  const contact = {};
  for (const name of ["name", "email", "phone"]) {
    const input = document.getElementById("contact-" + name);
    if (!input) continue;
    const value = input.value.trim();
    const problem = checkContact(name, value, input.required);
    if (fieldError("contact-" + name, problem)) problems.push("contact-" + name);
    else if (value) contact[name] = value;
  }
  if (problems.length) {
    document.getElementById(problems[0]).focus();
    return null;
  }
  return { terms_version: form.dataset.termsVersion, accept_terms: true,
           language: document.documentElement.lang || "en", contact: contact };
}

function explain(status, answer, retryAfter) {
  const code = (answer && answer.code) || "";
  if (code === "rate_limited") return say("error.rate_limited", { seconds: retryAfter || 60 });
  if (code === "contact_required" && answer.details && answer.details.field) {
    const id = "contact-" + answer.details.field;
    if (fieldError(id, say("error.contact_required"))) { document.getElementById(id).focus(); return ""; }
  }
  if (strings["error." + code]) return say("error." + code);
  return say("error.generic");
}

async function post(path, body) {
  const response = await fetch(base + path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  let answer = null;
  try { answer = await response.json(); } catch (err) { answer = null; }
  return { response: response, answer: answer };
}

async function start(event) {
  event.preventDefault();
  formError("");
  const body = collect();
  if (!body) return;
  const button = document.getElementById("start");
  button.disabled = true;
  button.textContent = say("starting");
  try {
    const { response, answer } = await post("/sessions", body);
    if (response.status === 201 && answer && answer.token) {
      location.assign(new URL("../c/" + encodeURIComponent(answer.token), location.href).href);
      return;
    }
    const message = explain(response.status, answer, response.headers.get("Retry-After"));
    if (message) formError(message);
  } catch (err) {
    formError(say("error.network"));
  } finally {
    button.disabled = false;
    button.textContent = button.dataset.label;
  }
}

async function textMe() {
  const result = document.getElementById("sms-result");
  result.textContent = "";
  formError("");
  const phone = document.getElementById("sms-phone").value.trim();
  const phoneProblem = phone ? checkContact("phone", phone, true) : say("error.contact_required");
  const body = collect();
  if (fieldError("sms-phone", phoneProblem)) {
    if (body) document.getElementById("sms-phone").focus();
    return;
  }
  if (!body) return;
  body.send_to = phone;
  const button = document.getElementById("sms-send");
  button.disabled = true;
  try {
    const { response, answer } = await post("/sms-link", body);
    if (response.status === 202) {
      result.textContent = say("sms_sent");
      result.focus();
      return;
    }
    const message = response.status === 502 ? say("sms_failed") : explain(response.status, answer,
                                                                         response.headers.get("Retry-After"));
    if (message) formError(message);
  } catch (err) {
    formError(say("error.network"));
  } finally {
    button.disabled = false;
  }
}

if (form) {
  const button = document.getElementById("start");
  button.dataset.label = button.textContent;
  form.addEventListener("submit", start);
  document.getElementById("sms-send").addEventListener("click", textMe);
}
