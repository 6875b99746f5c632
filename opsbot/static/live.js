"use strict";
// Appends the lines a meeting's server-sent events bring to the list that names them
// (data-events), and rewrites lines an edit or a redaction changed. Text goes in as text:
// nothing said in a meeting is ever parsed as HTML.
document.addEventListener("DOMContentLoaded", function () {
  var list = document.getElementById("live");
  if (!list) { return; }
  var state = document.getElementById("live-state");
  var source = new EventSource(list.dataset.events + "?after=" + list.dataset.after);
  function span(className, text) {
    var element = document.createElement("span");
    element.className = className;
    element.textContent = text;
    return element;
  }
  source.addEventListener("line", function (event) {
    var line = JSON.parse(event.data);
    if (document.getElementById("l-" + line.seq)) { return; }
    var item = document.createElement("li");
    item.id = "l-" + line.seq;
    item.className = "line";
    item.appendChild(span("time", line.time));
    item.appendChild(document.createTextNode(" "));
    item.appendChild(span("who", "<" + line.nick + ">"));
    item.appendChild(document.createTextNode(" "));
    item.appendChild(span("text", line.text));
    list.appendChild(item);
  });
  source.addEventListener("revise", function (event) {
    // An edit or a redaction: the lines it names now say what it says.
    var revised = JSON.parse(event.data);
    revised.seqs.forEach(function (seq) {
      var text = document.querySelector("#l-" + seq + " .text");
      if (text) { text.textContent = revised.text; }
    });
  });
  source.addEventListener("end", function () {
    source.close();
    if (state) { state.textContent = "The meeting has ended; its minutes are in the archive."; }
  });
});
