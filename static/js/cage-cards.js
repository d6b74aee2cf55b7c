// The cage card sheet's Print button (no inline handlers: the CSP allows our files only).
"use strict";
(function () {
  const button = document.querySelector("[data-print]");
  if (button) button.addEventListener("click", () => window.print());
})();
