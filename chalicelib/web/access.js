// The access-request form: send the fields as JSON and show the server's answer.
"use strict";

function formBody(form) {
  const body = {};
  for (const [name, value] of new FormData(form).entries()) {
    const text = String(value).trim();
    if (!text) continue;
    if (name === "country") body[name] = text.toUpperCase();
    else if (name === "existing_agency_id") body[name] = text.toLowerCase();
    else body[name] = text;
  }
  return body;
}

function showError(message) {
  const box = document.getElementById("access-error");
  box.textContent = message;
  box.hidden = false;
}

async function send(event) {
  event.preventDefault();
  const form = event.target;
  const button = document.getElementById("access-send");
  button.disabled = true;
  try {
    const response = await fetch("access-requests", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(formBody(form)),
    });
    const answer = await response.json();
    if (!response.ok) {
      const fields = (answer.details || []).map((d) => d.field).filter(Boolean);
      showError(answer.message + (fields.length ? " (" + fields.join(", ") + ")" : ""));
      return;
    }
    form.hidden = true;
    document.getElementById("access-ref").textContent = answer.request_id;
    document.getElementById("access-done").hidden = false;
  } catch (err) {
    showError("The request could not be sent. Check your connection and try again.");
  } finally {
    button.disabled = false;
  }
}

document.getElementById("access-form").addEventListener("submit", send);
