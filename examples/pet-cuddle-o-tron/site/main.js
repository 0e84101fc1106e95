// Pet Cuddle-O-Tron: POST the form as JSON to the API (API Gateway -> api_lambda -> Step Functions).
// API_ENDPOINT comes from config.js, which deploy.py uploads next to this file.

const form = document.getElementById("reminder");
const button = document.getElementById("submit");
const result = document.getElementById("result");

function show(kind, text) {
  result.className = kind;
  result.textContent = text;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const reminder = {
    email: document.getElementById("email").value,
    message: document.getElementById("message").value,
    waitSeconds: Number(document.getElementById("waitSeconds").value),
  };
  button.disabled = true;
  show("pending", "Sending...");
  try {
    const response = await fetch(API_ENDPOINT, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(reminder),
    });
    const answer = await response.json();
    if (response.ok && answer.Status === "Success") {
      show("success", `Reminder scheduled: an email to ${reminder.email} in ${reminder.waitSeconds} seconds.`);
    } else {
      show("error", `The API said no (${response.status}): ${answer.Error || answer.message || "unknown error"}`);
    }
  } catch (error) {
    show("error", `Could not reach the API: ${error}`);
  } finally {
    button.disabled = false;
  }
});
