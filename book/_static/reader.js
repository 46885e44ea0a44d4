// What the page does for its reader once loaded.
//
// A table wider than the text column never runs past it. On a narrow screen (a
// phone) it is shown as stacked rows: each row a small card, each value after its
// column's name. On a wider screen its cells first close up (narrower padding); if it
// still does not fit, it scrolls inside a box, under a line that says so.
// tests/test_browser.py fails anything else that is wider than the column.
const STACK_BELOW = 700;  // px of window width

// The name of each column whose cells are <td>s: the header rows' texts, joined
// where the columns have a header of several levels.
function columnLabels(table) {
  const grid = [];
  table.querySelectorAll("thead tr").forEach((row) => {
    const labels = [];
    row.querySelectorAll("th, td").forEach((cell) => {
      for (let i = 0; i < (cell.colSpan || 1); i++) labels.push(cell.textContent.trim());
    });
    grid.push(labels);
  });
  const width = Math.max(0, ...grid.map((labels) => labels.length));
  const names = [];
  for (let col = 0; col < width; col++) {
    const parts = grid.map((labels) => labels[col - (width - labels.length)] || "");
    names.push(parts.filter((p, i) => p && parts.indexOf(p) === i).join(" · "));
  }
  return names;
}

function stack(table) {
  const names = columnLabels(table);
  const rows = Array.from(table.querySelectorAll("tbody tr"));
  // Row labels of several levels are written once per group (rowspan): a card whose
  // row lacks the outer ones shows them again (data-group), so each card says its row.
  const depth = Math.max(0, ...rows.map((row) => row.querySelectorAll("th").length));
  // pandas writes the names of the row labels' levels in the header (th.index_name),
  // which a stacked table hides: each row label says its level's name instead
  const levels = Array.from(table.querySelectorAll("thead th.index_name"))
    .map((th) => th.textContent.trim()).slice(-depth);
  const named = (text, i) => (levels.length === depth && levels[i] ? `${levels[i]}: ${text}` : text);
  const last = [];
  rows.forEach((row) => {
    const heads = Array.from(row.querySelectorAll("th"));
    const own = heads.map((th) => th.textContent.trim());
    const missing = depth - own.length;
    own.forEach((text, i) => { last[missing + i] = text; });
    if (levels.length === depth) {
      heads.forEach((th, i) => { th.dataset.label = levels[missing + i] || ""; });
    }
    if (missing > 0) row.dataset.group = last.slice(0, missing).map(named).join(" · ");
    const cells = Array.from(row.querySelectorAll("td"));
    cells.forEach((cell, i) => {
      cell.dataset.label = names[names.length - cells.length + i] || "";
    });
  });
  table.classList.add("stacked");
}

function box(table) {
  const parent = table.parentElement;
  const note = document.createElement("p");
  note.className = "scroll-note";
  note.textContent = "This table is wider than the page: scroll it sideways to see every column.";
  const wrapper = document.createElement("div");
  wrapper.className = "scroll-x";
  parent.insertBefore(note, table);
  parent.insertBefore(wrapper, table);
  wrapper.appendChild(table);
}

function fitWideTables() {
  document.querySelectorAll("article.bd-article table").forEach((table) => {
    const parent = table.parentElement;
    if (parent.classList.contains("scroll-x") || table.classList.contains("stacked")
        || table.scrollWidth <= parent.clientWidth + 1) {
      return;
    }
    if (window.innerWidth < STACK_BELOW && table.querySelector("thead")) {
      stack(table);
      if (table.scrollWidth <= parent.clientWidth + 1) return;
    } else {
      table.classList.add("tight");
      if (table.scrollWidth <= parent.clientWidth + 1) return;
      table.classList.remove("tight");
    }
    box(table);
  });
}
window.addEventListener("load", fitWideTables);

// A link to a claim (#claim-...) opens its folded card, on arrival and on a click.
function openLinkedClaim() {
  const target = window.location.hash && document.getElementById(window.location.hash.slice(1));
  if (target && target.tagName === "DETAILS") target.open = true;
}
window.addEventListener("load", openLinkedClaim);
window.addEventListener("hashchange", openLinkedClaim);
