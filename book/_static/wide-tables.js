// A table wider than the text column scrolls inside a box, under a line that says
// so, instead of running past the column or being cut off without a word.
// tests/test_browser.py fails anything else that is wider than the column.
function boxWideTables() {
  document.querySelectorAll("article.bd-article table").forEach((table) => {
    const parent = table.parentElement;
    if (parent.classList.contains("scroll-x") || table.scrollWidth <= parent.clientWidth + 1) {
      return;
    }
    const note = document.createElement("p");
    note.className = "scroll-note";
    note.textContent = "This table is wider than the page: scroll it sideways to see every column.";
    const box = document.createElement("div");
    box.className = "scroll-x";
    parent.insertBefore(note, table);
    parent.insertBefore(box, table);
    box.appendChild(table);
  });
}
window.addEventListener("load", boxWideTables);
